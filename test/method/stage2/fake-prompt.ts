/**
 * A small stand-in for the CLIP prompt learner: two trainable context
 * vectors and a FROZEN text projection, so the Stage-2 branch math and the
 * training loop can be tested without a text tower.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../../src/util/rng.ts';
import type { ModelState, PromptEncoder } from '../../../src/method/stage2-model.ts';

export class FakePrompt implements PromptEncoder {
  readonly variables: tf.Variable[];
  readonly frozen: tf.Tensor2D; // [W,E]
  constructor(readonly textWidth: number, readonly embedDim: number, seed: number) {
    const rng = new Rng(seed);
    const init = () => tf.tidy(() => tf.variable(tf.tensor1d(rng.normalArray(textWidth, 0.02)), true));
    this.variables = [init(), init()];
    this.frozen = tf.tensor2d(rng.normalArray(textWidth * embedDim, 1 / Math.sqrt(textWidth)), [textWidth, embedDim]);
  }
  encode(biasN: tf.Tensor2D, biasA: tf.Tensor2D) {
    const enc = (b: tf.Tensor2D, ctx: tf.Variable) => {
      const x = tf.matMul(tf.tanh(tf.add(b, ctx)), this.frozen);
      return tf.div(x, tf.norm(x, 2, 1, true)) as tf.Tensor2D;
    };
    return { normal: enc(biasN, this.variables[0]), anomaly: enc(biasA, this.variables[1]) };
  }
  state(): ModelState {
    return {
      ctx_normal: { dtype: 'F32', shape: [this.textWidth], data: (this.variables[0].dataSync() as Float32Array).slice() },
      ctx_anomaly: { dtype: 'F32', shape: [this.textWidth], data: (this.variables[1].dataSync() as Float32Array).slice() },
    };
  }
  load(s: ModelState) {
    tf.tidy(() => {
      this.variables[0].assign(tf.tensor1d(s.ctx_normal.data));
      this.variables[1].assign(tf.tensor1d(s.ctx_anomaly.data));
    });
  }
  dispose() {
    tf.dispose([...this.variables, this.frozen]);
  }
}
