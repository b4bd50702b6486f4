import Foundation

/// A fixed-size, 64-byte-aligned Float buffer that owns its memory. Kernels take its raw pointer;
/// nothing here reallocates, so pointers stay valid for the buffer's lifetime.
public final class FloatBuffer: @unchecked Sendable {
    public let count: Int
    public let pointer: UnsafeMutablePointer<Float>

    public init(count: Int, zeroed: Bool = true) {
        self.count = count
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * 4, alignment: 64)
        pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        if zeroed { pointer.initialize(repeating: 0, count: max(count, 1)) }
    }

    public convenience init(_ values: [Float]) {
        self.init(count: values.count, zeroed: false)
        values.withUnsafeBufferPointer { pointer.update(from: $0.baseAddress!, count: values.count) }
    }

    deinit { UnsafeMutableRawPointer(pointer).deallocate() }

    public func zero() { pointer.update(repeating: 0, count: count) }
    public func zero(offset: Int, count n: Int) { (pointer + offset).update(repeating: 0, count: n) }
    public var array: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }
    public func slice(_ offset: Int, _ n: Int) -> [Float] { Array(UnsafeBufferPointer(start: pointer + offset, count: n)) }
    public subscript(i: Int) -> Float {
        get { pointer[i] }
        set { pointer[i] = newValue }
    }
}
