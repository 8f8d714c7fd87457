/**
 * `Tensor`: a handle to a libtorch tensor. Data crosses between JavaScript and libtorch only when asked
 * (`Tensor.from`, `toTypedArray`). Free memory at once with `dispose()` (or a `using` declaration); a handle that
 * is merely dropped is freed by the garbage collector's finalizer.
 */
import { native, type NativeTensor } from './native.js';
import type { DType, TypedArray } from './tensor-types.js';

export type { DType, TypedArray } from './tensor-types.js';

export class Tensor {
  /** @internal Wraps a native handle; use `Tensor.from`. */
  constructor(readonly handle: NativeTensor) {}

  /**
   * Copies `data` into a new CPU tensor of `shape`. The dtype follows the array type unless given: bfloat16 and
   * float16 come from a Uint16Array of raw bits, bool from a Uint8Array.
   * @throws MaskmixError SHAPE_MISMATCH when the shape does not hold `data.length` elements, DTYPE_MISMATCH when
   *   `dtype` cannot be stored in that array type.
   */
  static from(data: TypedArray, shape: readonly number[], dtype?: DType): Tensor {
    const Native = native().Tensor;
    return new Tensor(dtype ? new Native(data, [...shape], dtype) : new Native(data, [...shape]));
  }

  get shape(): number[] {
    return this.handle.shape;
  }

  get dtype(): DType {
    return this.handle.dtype;
  }

  /** 'cpu', 'cuda:0', … */
  get device(): string {
    return this.handle.device;
  }

  get disposed(): boolean {
    return this.handle.disposed;
  }

  /** Number of elements. */
  get size(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }

  /** A copy of the data in a typed array of the tensor's dtype (copied from the GPU if it lives there). */
  toTypedArray(): TypedArray {
    return this.handle.toTypedArray();
  }

  /** A copy converted to `dtype` and/or moved to `device`. */
  to(options: { dtype?: DType; device?: string }): Tensor {
    return new Tensor(this.handle.to(options.dtype ?? this.dtype, options.device ?? this.device));
  }

  /** Frees the tensor's memory now; any later use fails with DISPOSED. Safe to call twice. */
  dispose(): void {
    this.handle.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}
