import TributaryAudit
import TributaryContribution
import TributaryLog

// The model work an audit may need, which TributaryAudit itself does not link (it knows no model
// code): the auditor takes these as hooks.

/// How `tributary audit` and `fetch-release` (and the tests that audit as they do) rebuild a release
/// the server pruned: the same `ReleaseFiles` the server wrote it with, from the anchor and the
/// logged bundles the audit module fetched and checked.
public let releaseRebuild = ReleaseRebuild { manifest, anchor, experts, out in
    _ = try ReleaseFiles.write(anchor: try AnchorDirectory.load(anchor), contributions: zip(manifest.experts, experts).map {
        .init(organisation: $0.0.organisation, expertFile: $0.1.expert, routingFile: $0.1.routing)
    }, number: manifest.release, topK: manifest.expertsPerToken, tuning: manifest.routerTuning == nil ? .none : .recorded, to: out)
}

/// How `tributary audit` (and the tests) replay a tuned release's router tuning: the untuned release
/// rebuilt from the anchor and the logged bundles, then the manifest's recipe on the record's token ids.
public let routerTuningReplay = RouterTuningReplay { manifest, anchor, experts, record in
    guard let recipe = manifest.routerTuning else { return [] }
    return try ReleaseRouterTuning.replay(anchor: anchor, experts: zip(manifest.experts, experts).map {
        .init(organisation: $0.0.organisation, expertFile: $0.1.expert, routingFile: $0.1.routing)
    }, topK: manifest.expertsPerToken, recipe: recipe, record: record)
}
