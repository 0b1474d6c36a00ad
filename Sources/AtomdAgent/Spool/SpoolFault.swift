import Foundation
import Synchronization

/// Failures the end-to-end tests inject into the spool's moves, which no
/// real disk here produces on demand: `ATOMD_SPOOL_FAULT=claim-rename`
/// fails the rename of a job into processing/, `claim-sync` the sync of
/// processing/ after one, `claim-restore` the move of a sidecar back
/// beside its job after a failed claim, each with EIO, the first time
/// (`NAME:COUNT`: the first COUNT times; several joined by commas). Debug
/// builds only.
enum SpoolFault: String {
    case claimRename = "claim-rename"
    case claimSync = "claim-sync"
    case claimRestore = "claim-restore"

    /// The errno to fail with, while `self` has struck fewer times than asked.
    func strike() -> Int32? {
        #if DEBUG
        guard let armed = ProcessInfo.processInfo.environment["ATOMD_SPOOL_FAULT"] else { return nil }
        guard let parts = armed.split(separator: ",").map({ $0.split(separator: ":", maxSplits: 1) })
            .first(where: { $0.first.map(String.init) == rawValue }) else { return nil }
        let count = parts.count == 2 ? Int(parts[1]) ?? 1 : 1
        return Self.struck.withLock { struck in
            struck[rawValue, default: 0] += 1
            return struck[rawValue, default: 0] <= count ? EIO : nil
        }
        #else
        return nil
        #endif
    }

    #if DEBUG
    private static let struck = Mutex<[String: Int]>([:])
    #endif
}
