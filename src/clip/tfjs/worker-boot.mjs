// Worker entry: worker_threads start plain Node, so register tsx before
// loading the TypeScript worker (the package has no build step).
import { register } from 'tsx/esm/api';
register();
await import('./worker.ts');
