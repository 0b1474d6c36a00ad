/// An optional value kept behind a reference: a `Step` holds several rarely
/// used, large members (a retry policy, check and state actions), and
/// storing them inline made every step 608 bytes, every copy of a job's
/// step list as large. Boxed, each costs a pointer, and nothing when absent.
///
/// The box is immutable and replaced on every set, so copies of a step
/// never share a change: value semantics as before.
@propertyWrapper
public struct Boxed<Wrapped: Sendable & Hashable>: Sendable, Hashable {
    private final class Box: Sendable {
        let value: Wrapped

        init(_ value: Wrapped) {
            self.value = value
        }
    }

    private var box: Box?

    public init(wrappedValue: Wrapped?) {
        box = wrappedValue.map(Box.init)
    }

    public var wrappedValue: Wrapped? {
        get { box?.value }
        set { box = newValue.map(Box.init) }
    }

    public static func == (left: Self, right: Self) -> Bool {
        left.box === right.box || left.box?.value == right.box?.value
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(box?.value)
    }
}
