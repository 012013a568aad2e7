/**
 * onnxruntime-node sessions for the vision graph.
 *
 * CPU: one session uses `threads` intra-op threads (all cores by default) and
 * one inter-op thread; graph optimisation level 'all'. The caller keeps
 * concurrent nodes x threads within the core count (the runner passes its
 * worker count), since ORT's thread pool spins and oversubscription costs
 * more than it gives.
 *
 * CUDA: asked for with `backend: 'cuda'` or ENTROAD_ONNX_PROVIDER=cuda. The
 * npm package ships only the CPU provider; the CUDA provider (CUDA 12,
 * cuDNN 9) is fetched by the package's install script, which this project
 * disables so that `npm ci` works offline. On a GPU machine run once
 * `node node_modules/onnxruntime-node/script/install --onnxruntime-node-install=cuda12`.
 * The CUDA path cannot be tested on the machines this was written on.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import path from 'node:path';
import ort from 'onnxruntime-node';

export type Provider = 'cpu' | 'cuda';

export interface SessionChoice {
  provider: Provider;
  threads: number;
}

/**
 * `backend` is shared with the tfjs engine: only 'cuda' means something
 * here; tfjs names ('auto', 'wasm', 'tensorflow', 'cpu') select the CPU.
 */
export function chooseSession(backend: string | undefined, threads: number | undefined): SessionChoice {
  const env = process.env.ENTROAD_ONNX_PROVIDER;
  if (env !== undefined && env !== 'cpu' && env !== 'cuda') {
    throw new Error(`ENTROAD_ONNX_PROVIDER="${env}": expected cpu or cuda`);
  }
  const provider: Provider = backend === 'cuda' || env === 'cuda' ? 'cuda' : 'cpu';
  const n = threads ?? availableParallelism();
  if (!Number.isInteger(n) || n < 1) {
    throw new Error(`onnx engine: threads must be a positive integer, got ${threads}`);
  }
  return { provider, threads: n };
}

/** Where onnxruntime-node keeps its native libraries for this platform. */
function bindingDir(): string {
  const req = createRequire(import.meta.url);
  const pkg = path.dirname(req.resolve('onnxruntime-node/package.json'));
  return path.join(pkg, 'bin', 'napi-v6', process.platform, process.arch);
}

export function cudaProviderInstalled(): boolean {
  const lib =
    process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';
  return existsSync(path.join(bindingDir(), lib));
}

export async function openSession(file: string, choice: SessionChoice): Promise<ort.InferenceSession> {
  if (choice.provider === 'cuda' && !cudaProviderInstalled()) {
    throw new Error(
      'onnx engine: the CUDA execution provider is not installed (npm ci skips its download). ' +
        'On a machine with CUDA 12 and cuDNN 9 run ' +
        '`node node_modules/onnxruntime-node/script/install --onnxruntime-node-install=cuda12`, ' +
        'or use the CPU provider (drop backend: cuda / ENTROAD_ONNX_PROVIDER).',
    );
  }
  const options: ort.InferenceSession.SessionOptions = {
    executionProviders: choice.provider === 'cuda' ? ['cuda', 'cpu'] : ['cpu'],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: choice.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    // Idle intra-op threads sleep instead of spinning: on a shared or busy
    // machine (other nodes under -j, other users) spinning threads steal the
    // cores the working ones need; measured 1.5-1.8x slower on ViT-B/16 with
    // 2 threads on a loaded 2-core machine. ENTROAD_ONNX_SPIN=1 restores it.
    extra: { session: { intra_op: { allow_spinning: process.env.ENTROAD_ONNX_SPIN === '1' ? '1' : '0' } } },
  };
  try {
    return await ort.InferenceSession.create(file, options);
  } catch (e) {
    const why = (e as Error).message;
    throw new Error(`onnx engine: cannot open ${file} with the ${choice.provider} provider: ${why}`);
  }
}
