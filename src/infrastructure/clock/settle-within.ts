/**
 * `work`'s value, or `fallback` once `ms` pass first: a check that must answer in bounded
 * time whatever the part it asks does (`/ready`'s probes, a store read at start). `work`
 * runs on; its late outcome is ignored, and a late rejection is not unhandled. The timer
 * does not keep the process alive.
 *
 * @example
 * const state = await settleWithin(redis.ping().then(() => 'up', () => 'down'), 1_500, 'down');
 */
export async function settleWithin<T, F>(work: Promise<T>, ms: number, fallback: F): Promise<T | F> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<F>((resolve) => {
    timer = setTimeout(() => resolve(fallback), ms);
    timer.unref();
  });
  work.catch(() => {});
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}
