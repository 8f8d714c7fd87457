// ‖a − b‖₂ / ‖b‖₂ over two arrays of numbers: how the GPU check scripts compare a result with its reference.
export function relError(a, b) {
  let num = 0, den = 0;
  for (let i = 0; i < a.length; i++) { num += (a[i] - b[i]) ** 2; den += b[i] ** 2; }
  return Math.sqrt(num / Math.max(den, 1e-30));
}
