import { availableParallelism } from "node:os";

/**
 * Chooses how many CPU threads llama.cpp uses for decoding.
 *
 * node-llama-cpp 3.21.1 defaults to `max(4, cores)`, and llama.cpp's spin-waiting thread
 * pool collapses when it has more threads than free cores. On a 2-vCPU machine that default
 * decoded a 6M-parameter model at 3.8 tokens/s, against about 1,380 with one thread. Two
 * threads were still 4.7x slower than one on the demo model (docs/benchmarks.md). The Node
 * event loop, libuv workers and the supervisor need cores too, so we leave at least half the
 * logical CPUs, and at least two of them, free.
 *
 * NOTE: only the 2-core case was measured; the rule for larger machines is an estimate.
 * Override it with `--threads` or `CODEC_ENGINE_THREADS`.
 */
export function defaultThreadCount(logicalCpus: number = availableParallelism()): number {
  const leaveFree = Math.max(2, Math.ceil(logicalCpus / 2));
  return Math.max(1, logicalCpus - leaveFree);
}
