/**
 * The two ways a metric can refuse an input.
 *
 * - `MetricInputError`: the input is wrong (NaN score, shape mismatch,
 *   non-binary mask, empty input, bad FPR limit). The caller must fix it.
 * - `MetricUndefinedError`: the input is valid but the metric has no value
 *   (one class only, no anomalous region). The `metrics` node turns this into
 *   a null with the message as its reason, never a fake 0.5.
 */
export class MetricInputError extends Error {
  override name = 'MetricInputError';
}

export class MetricUndefinedError extends Error {
  override name = 'MetricUndefinedError';
}
