/**
 * Choosing the TensorFlow.js backend.
 *
 * - `tensorflow`: @tensorflow/tfjs-node (or -gpu), native TensorFlow; only
 *   present where its install script could download libtensorflow, so it is
 *   an optional dependency and loaded dynamically.
 * - `wasm`: the default here; its .wasm binaries ship inside the npm package.
 * - `cpu`: pure JavaScript, very slow; a test oracle.
 *
 * `auto` takes the first that loads: tensorflow, then wasm.
 */
import * as tf from '@tensorflow/tfjs';

export type BackendName = 'wasm' | 'tensorflow' | 'cpu';
export const BACKENDS: readonly string[] = ['auto', 'wasm', 'tensorflow', 'cpu'];

let chosen: Promise<BackendName> | null = null;
let chosenFor: string | null = null;

async function tryTensorflow(): Promise<boolean> {
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      await import(pkg);
      if (await tf.setBackend('tensorflow')) return true;
    } catch {
      // not installed on this machine
    }
  }
  return false;
}

async function tryWasm(): Promise<boolean> {
  await import('@tensorflow/tfjs-backend-wasm');
  return tf.setBackend('wasm');
}

/**
 * Initialise tfjs once per process with the requested backend and return
 * the name actually in use. Asking for an unavailable backend is an error
 * (never a silent fallback), except for `auto`.
 */
export function initTf(requested = process.env.ENTROAD_BACKEND ?? 'auto'): Promise<BackendName> {
  if (!BACKENDS.includes(requested)) {
    return Promise.reject(
      new Error(`unknown backend "${requested}"; expected one of ${BACKENDS.join(', ')}`),
    );
  }
  if (chosen && chosenFor === requested) return chosen;
  chosenFor = requested;
  chosen = (async (): Promise<BackendName> => {
    if (requested === 'tensorflow' || requested === 'auto') {
      if (await tryTensorflow()) return 'tensorflow';
      if (requested === 'tensorflow') {
        throw new Error(
          'backend "tensorflow" requested but @tensorflow/tfjs-node is not installed ' +
            '(its install downloads libtensorflow, impossible offline); use --backend wasm',
        );
      }
    }
    if (requested === 'cpu') {
      await tf.setBackend('cpu');
      await tf.ready();
      return 'cpu';
    }
    if (!(await tryWasm())) throw new Error('could not initialise the tfjs wasm backend');
    await tf.ready();
    return 'wasm';
  })();
  return chosen;
}
