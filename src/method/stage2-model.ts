/**
 * The Stage-2 model of EntroAD: a prompt learner over the frozen CLIP text
 * tower plus one MLP per branch (Eq. 9-12), and the branch loss (Eq. 18-19).
 *
 * Branch m turns the routed tokens into prompt biases: f_m(t_n) is added to
 * every context vector of the normal prompt, f_m(t_a) to those of the
 * anomaly prompt, so each image gets its own text features u_n^m, u_a^m.
 * Maps: per layer l, [S_n, S_a] = softmax((Z^l u_n, Z^l u_a) / tau_s) over
 * the two classes, which is sigmoid(Z^l (u_a - u_n) / tau_s) for S_a.
 *
 * The prompt learner is passed in through the `PromptEncoder` interface (the
 * CLIP prompt learner satisfies it), so the branch math is testable alone.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../util/rng.ts';
import { layerLoss } from './stage2-loss.ts';

export interface StateTensor {
  dtype: 'F32';
  shape: number[];
  data: Float32Array;
}
export type ModelState = Record<string, StateTensor>;

/** What Stage 2 needs of a prompt learner (Eq. 9-11). */
export interface PromptEncoder {
  readonly variables: tf.Variable[];
  readonly textWidth: number;
  readonly embedDim: number;
  /** L2-normalised text features [B,E] of the two prompts given biases [B,textWidth]. */
  encode(biasN: tf.Tensor2D, biasA: tf.Tensor2D): { normal: tf.Tensor2D; anomaly: tf.Tensor2D };
  state(): ModelState;
  load(state: ModelState): void;
  dispose(): void;
}

export type BranchName = 'A' | 'B';

let nextVariableId = 0;

/**
 * f_m: Linear(E, W) -> ReLU [ours] -> Linear(W, W), W = text width.
 * Kernels are stored [in, out] so the forward pass is a plain 2-D matMul.
 * Initialised like torch's Linear default, U(-1/sqrt(in), 1/sqrt(in)),
 * from a seeded stream [parent: torch default init].
 */
export class BranchMlp {
  private constructor(
    readonly name: BranchName,
    readonly fc1Kernel: tf.Variable, // [E,W]
    readonly fc1Bias: tf.Variable, // [W]
    readonly fc2Kernel: tf.Variable, // [W,W]
    readonly fc2Bias: tf.Variable, // [W]
  ) {}

  static create(name: BranchName, inDim: number, width: number, rng: Rng): BranchMlp {
    const uniform = (n: number, fanIn: number) => {
      const b = 1 / Math.sqrt(fanIn);
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = rng.uniform(-b, b);
      return out;
    };
    // tfjs wants unique variable names across all live models
    const v = (data: Float32Array, shape: number[], part: string) =>
      tf.tidy(() => tf.variable(tf.tensor(data, shape), true, `stage2.branch${name}.${part}.${nextVariableId++}`));
    return new BranchMlp(
      name,
      v(uniform(inDim * width, inDim), [inDim, width], 'fc1.kernel'),
      v(uniform(width, inDim), [width], 'fc1.bias'),
      v(uniform(width * width, width), [width, width], 'fc2.kernel'),
      v(uniform(width, width), [width], 'fc2.bias'),
    );
  }

  get variables(): tf.Variable[] {
    return [this.fc1Kernel, this.fc1Bias, this.fc2Kernel, this.fc2Bias];
  }

  /** [B,E] -> [B,W] */
  apply(t: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const h = tf.relu(tf.add(tf.matMul(t, this.fc1Kernel), this.fc1Bias));
      return tf.add(tf.matMul(h, this.fc2Kernel), this.fc2Bias) as tf.Tensor2D;
    });
  }

  private parts(): Record<string, tf.Variable> {
    return {
      'fc1.kernel': this.fc1Kernel,
      'fc1.bias': this.fc1Bias,
      'fc2.kernel': this.fc2Kernel,
      'fc2.bias': this.fc2Bias,
    };
  }

  state(): ModelState {
    const out: ModelState = {};
    for (const [k, v] of Object.entries(this.parts())) {
      out[`branch${this.name}.${k}`] = { dtype: 'F32', shape: v.shape.slice(), data: (v.dataSync() as Float32Array).slice() };
    }
    return out;
  }

  load(state: ModelState): void {
    for (const [k, v] of Object.entries(this.parts())) {
      const name = `branch${this.name}.${k}`;
      const s = state[name];
      if (!s) throw new Error(`Stage-2 model: tensor "${name}" is missing`);
      if (s.shape.join(',') !== v.shape.join(',')) {
        throw new Error(`Stage-2 model: tensor "${name}" has shape [${s.shape}], expected [${v.shape}]`);
      }
      tf.tidy(() => v.assign(tf.tensor(s.data, s.shape)));
    }
  }

  dispose(): void {
    for (const v of this.variables) v.dispose();
  }
}

export class Stage2Model {
  constructor(
    readonly prompt: PromptEncoder,
    /** branch A first; branch B only in a two-branch model. */
    readonly branches: BranchMlp[],
  ) {}

  static create(prompt: PromptEncoder, nBranches: 1 | 2, seed: number): Stage2Model {
    const rng = new Rng(seed);
    const names: BranchName[] = nBranches === 2 ? ['A', 'B'] : ['A'];
    // each branch draws from its own stream: independent parameters
    const mlps = names.map((n, i) => BranchMlp.create(n, prompt.embedDim, prompt.textWidth, rng.fork(i + 1)));
    return new Stage2Model(prompt, mlps);
  }

  /** Exactly the trained parameters: prompt learner and branch MLPs. */
  get variables(): tf.Variable[] {
    return [...this.prompt.variables, ...this.branches.flatMap((b) => b.variables)];
  }

  /** Eq. 9-11: text features of one branch, u_n, u_a [B,E]. */
  textFeatures(branch: number, tN: tf.Tensor2D, tA: tf.Tensor2D): { uN: tf.Tensor2D; uA: tf.Tensor2D } {
    const f = this.branches[branch];
    const { normal, anomaly } = this.prompt.encode(f.apply(tN), f.apply(tA));
    return { uN: normal, uA: anomaly };
  }

  /**
   * Eq. 12: S_a per layer [B,N] for branch m, given Z^l [B,N,E] per layer.
   */
  anomalyProbs(branch: number, Z: tf.Tensor3D[], tN: tf.Tensor2D, tA: tf.Tensor2D, tauS: number): tf.Tensor2D[] {
    return tf.tidy(() => {
      const { uN, uA } = this.textFeatures(branch, tN, tA);
      const [B, N, E] = Z[0].shape;
      // S_a = softmax over (Z u_n, Z u_a)/tau_s, class a = sigmoid(Z (u_a - u_n) / tau_s).
      // Every image's rows against every image's d in one plain 2-D matMul
      // [B*N,E] x [E,B], then the block diagonal: a per-image product would
      // need a batched matMul (slow on wasm) or a [B,N,E] temporary per layer
      // and branch kept for the backward pass (too much memory at ViT-L size).
      const d = tf.transpose(tf.sub(uA, uN)); // [E,B]
      const own = new Float32Array(B * N * B);
      for (let b = 0; b < B; b++) for (let n = 0; n < N; n++) own[(b * N + n) * B + b] = 1;
      const mask = tf.tensor2d(own, [B * N, B]);
      return Z.map((z) => {
        const all = tf.matMul(z.reshape([B * N, E]), d); // [B*N,B]
        const logit = tf.sum(tf.mul(all, mask), 1).reshape([B, N]); // [B,N]
        return tf.sigmoid(tf.div(logit, tauS)) as tf.Tensor2D;
      });
    });
  }

  state(): ModelState {
    const out: ModelState = {};
    for (const [k, v] of Object.entries(this.prompt.state())) out[`prompt.${k}`] = v;
    for (const b of this.branches) Object.assign(out, b.state());
    return out;
  }

  load(state: ModelState): void {
    const prompt: ModelState = {};
    for (const [k, v] of Object.entries(state)) if (k.startsWith('prompt.')) prompt[k.slice(7)] = v;
    this.prompt.load(prompt);
    for (const b of this.branches) b.load(state);
  }

  dispose(): void {
    for (const b of this.branches) b.dispose();
    this.prompt.dispose();
  }
}

export interface LossOptions {
  /** Patch grid side g (N = g*g). */
  grid: number;
  /** Side of the square on which the losses are computed (maps upsampled). */
  lossSize: number;
  /** lambda_d of Eq. 18 [ours: 1]. */
  lambdaDice?: number;
}

/**
 * Eq. 18: sum over layers of focal(S_a) + lambda_d dice(S_a, Y)
 * + lambda_d dice(S_n, 1 - Y), with S_a upsampled grid -> lossSize.
 * Y is [B, lossSize, lossSize] of 0/1 (see `stage2-loss.ts` for why it is
 * a plain array and the layer loss one fused op).
 */
export function branchLoss(Sa: tf.Tensor2D[], Y: Float32Array, opts: LossOptions): tf.Scalar {
  const { grid, lossSize, lambdaDice = 1 } = opts;
  return tf.tidy(() => tf.addN(Sa.map((s) => layerLoss(s, Y, grid, lossSize, { lambdaDice }))) as tf.Scalar);
}

/** Eq. 19: lambda normalised to sum 1; one branch gets lambda_B = 0. */
export function branchWeights(lambdaA: number, lambdaB: number, nBranches: 1 | 2): number[] {
  if (nBranches === 1) return [1];
  const s = lambdaA + lambdaB;
  if (!(s > 0) || lambdaA < 0 || lambdaB < 0) {
    throw new Error(`Stage 2: lambda_a (${lambdaA}) and lambda_b (${lambdaB}) must be >= 0 with a positive sum`);
  }
  return [lambdaA / s, lambdaB / s];
}

export interface Stage2Batch {
  /** Z^l per map layer, [B,N,E]. */
  Z: tf.Tensor3D[];
  tN: tf.Tensor2D; // [B,E]
  tA: tf.Tensor2D; // [B,E]
  /** [B,lossSize,lossSize] 0/1 mask, on the CPU (it needs no gradient). */
  Y: Float32Array;
}

/** Eq. 19: L = lambda_A' L_A + lambda_B' L_B; also returns the branch losses. */
export function stage2Loss(
  model: Stage2Model,
  batch: Stage2Batch,
  weights: number[],
  tauS: number,
  opts: LossOptions,
): { loss: tf.Scalar; perBranch: tf.Scalar[] } {
  const perBranch = model.branches.map((_, m) =>
    branchLoss(model.anomalyProbs(m, batch.Z, batch.tN, batch.tA, tauS), batch.Y, opts),
  );
  const loss = tf.addN(perBranch.map((l, m) => tf.mul(l, weights[m]))) as tf.Scalar;
  return { loss, perBranch };
}
