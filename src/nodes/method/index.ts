/**
 * The EntroAD method nodes. Importing this module registers every one of
 * them (each file calls `registerNodeType` at its top level).
 */
import './clip-features.ts';
import './memory-bank.ts';
import './stage1-train.ts';
import './retrieval.ts';
import './entropy.ts';
import './routing.ts';
import './gating.ts';
import './stage2-train.ts';
import './infer.ts';
