// The whole method on the real benchmark samples in ../shared/data (read in
// place, never copied): MVTec AD `grid` trains, Kvasir-SEG and HeadCT are
// evaluated. Kvasir has no normal images (image metrics undefined) and HeadCT
// no masks (pixel metrics undefined): both must come out null with a reason.
import t from 'tap';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runPipeline, silentReporter } from '../../src/runner/index.ts';
import type { MetricsFile } from '../../src/metrics/types.ts';

const repo = resolve(import.meta.dirname, '../..');
const data = resolve(repo, '../shared/data');

const skip = !existsSync(data) && `../shared/data is absent (${data}): the real benchmark samples are not beside this checkout`;

t.test('pipelines/shared-samples.yaml runs end to end on the real samples', { skip }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'samples-'));
  const run = await runPipeline(join(repo, 'pipelines/shared-samples.yaml'), {
    overrides: [`params.data=${data}`],
    cacheDir: join(dir, 'cache'),
    resultsDir: join(dir, 'results'),
    reporter: silentReporter,
  });
  t.equal(run.status, 'ok', run.nodes.filter((n) => n.status !== 'ran').map((n) => `${n.id}: ${n.reason}`).join('; '));
  const m = JSON.parse(readFileSync(join(run.dir, 'metrics.json'), 'utf8')) as MetricsFile;
  t.same(Object.keys(m.datasets).sort(), ['headct', 'kvasir']);

  const kvasir = m.datasets.kvasir.categories.colon;
  t.same(kvasir.counts, { normal: 0, anomalous: 3, masks: 3 });
  t.equal(kvasir.values.image_auroc, null);
  t.ok(kvasir.reasons?.image_auroc, 'a reason for the undefined image AUROC');
  t.type(kvasir.values.pixel_auroc, 'number');

  const head = m.datasets.headct.categories.brain;
  t.same(head.counts, { normal: 3, anomalous: 2, masks: 0 });
  t.type(head.values.image_auroc, 'number');
  t.equal(head.values.aupro, null);
  t.ok(head.reasons?.aupro, 'a reason for the undefined AUPRO');
});
