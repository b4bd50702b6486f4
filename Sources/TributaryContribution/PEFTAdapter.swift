import Foundation
import TributaryCore
import TributaryModel

/// A LoRA expert as the field's own format holds it: a PEFT adapter directory for the anchor as a
/// Llama model (`adapter_config.json` and `adapter_model.safetensors`, PEFT's tensor names for a Llama
/// MLP, `base_model.model.model.layers.{l}.mlp.{gate,up,down}_proj.lora_{A,B}.weight`).
///
/// A PEFT adapter has no router: an expert's router rows travel beside it as `router_rows.safetensors`
/// (one F32 tensor `router_rows` [L, H], every anchor layer, as in `routing.safetensors`), which PEFT
/// and transformers ignore. Without that file the rows are the owner's to choose at import (the
/// bundle's routing signature holds them).
public enum PEFTAdapter {
    public static let configFile = "adapter_config.json"
    public static let weightsFile = "adapter_model.safetensors"
    public static let routerRowsFile = "router_rows.safetensors"

    static func tensorName(_ l: Int, _ t: LoRATarget, _ factor: String) -> String {
        "base_model.model.model.layers.\(l).mlp.\(t.rawValue).lora_\(factor).weight"
    }

    /// Writes `factors` (and `routerRows` [L * H] when given) as an adapter for `config`'s anchor.
    public static func write(_ factors: LoRAFactors, routerRows: [Float]?, config c: ModelConfig, to dir: String) throws {
        guard factors.fits(c) else { throw TributaryError("model.shape_mismatch", "the LoRA factors do not fit the anchor") }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let lora = factors.shape
        // PEFT's own keys (peft.LoraConfig); what PEFT would default is written out, so nothing is guessed.
        let config = JSONValue.object([
            ("peft_type", .string("LORA")), ("task_type", .string("CAUSAL_LM")), ("base_model_name_or_path", .null),
            ("r", .int(lora.rank)), ("lora_alpha", .number("\(lora.alpha)")), ("lora_dropout", .decimal(0)),
            ("target_modules", .array(lora.targets.map { .string($0.rawValue) })),
            ("layers_to_transform", .array(factors.layers.map { .int($0) })), ("layers_pattern", .string("layers")),
            ("bias", .string("none")), ("fan_in_fan_out", .bool(false)), ("use_rslora", .bool(false)), ("use_dora", .bool(false)),
            ("modules_to_save", .null), ("init_lora_weights", .bool(true)), ("inference_mode", .bool(true)),
            ("rank_pattern", .object([])), ("alpha_pattern", .object([])),
        ])
        var w = SafetensorsWriter(metadata: ["format": "pt"])
        for (i, l) in factors.layers.enumerated() {
            for (j, t) in lora.targets.enumerated() {
                let s = t.shape(c)
                w.add(tensorName(l, t, "A"), shape: [lora.rank, s.in], values: factors.a[i][j])
                w.add(tensorName(l, t, "B"), shape: [s.out, lora.rank], values: factors.b[i][j])
            }
        }
        try w.write(to: dir + "/" + weightsFile)
        try AtomicFileWriter.write(JSONWriter.serialize(config, sortKeys: false) + [0x0a], to: dir + "/" + configFile)
        if let routerRows { try writeRouterRows(routerRows, config: c, to: dir) }
    }

    /// Writes `DIR/router_rows.safetensors`: the rows [L * H] of every anchor layer.
    public static func writeRouterRows(_ rows: [Float], config c: ModelConfig, to dir: String) throws {
        guard rows.count == c.numLayers * c.hiddenSize else {
            throw TributaryError("model.shape_mismatch", "router rows of \(rows.count) values, the anchor needs \(c.numLayers) x \(c.hiddenSize)")
        }
        var r = SafetensorsWriter()
        r.add(TensorNames.routerRows, shape: [c.numLayers, c.hiddenSize], values: rows)
        try r.write(to: dir + "/" + routerRowsFile)
    }

    /// Reads an adapter for `config`'s anchor: its factors, and its router rows when the directory has them.
    /// Settings that change what the adapter computes and that the protocol does not define (DoRA,
    /// rsLoRA, biases, per-module ranks, fan-in-fan-out storage, modules other than the MLP's) are
    /// refused, not ignored.
    public static func read(_ dir: String, config c: ModelConfig) throws -> (factors: LoRAFactors, routerRows: [Float]?) {
        let path = dir + "/" + configFile
        let json: JSONValue
        do { json = try StrictJSONParser.parse(try readSmallFile(path, limit: 1 << 20, noFollow: false)) } catch let e as StrictJSONParser.Failure {
            throw TributaryError("model.invalid_lora", "\(path): \(e)")
        }
        let lora: LoRAParameters, layers: [Int]?
        do {
            // Unknown keys are PEFT's many defaults and bookkeeping: read what changes the computation.
            guard case let .object(fields) = json else { throw JSONSchemaError(path: configFile, problem: "expected an object") }
            let f = Dictionary(fields, uniquingKeysWith: { a, _ in a })
            func refuse(_ key: String, unless ok: Bool) throws(JSONSchemaError) {
                if !ok { throw JSONSchemaError(path: "\(configFile).\(key)", problem: "is not supported (\(f[key].map { String(decoding: JSONWriter.serialize($0), as: UTF8.self) } ?? "absent"))") }
            }
            try refuse("peft_type", unless: f["peft_type"] == .string("LORA"))
            for flag in ["use_dora", "use_rslora", "fan_in_fan_out"] { try refuse(flag, unless: f[flag] == nil || f[flag] == .bool(false)) }
            try refuse("bias", unless: f["bias"] == nil || f["bias"] == .string("none"))
            try refuse("modules_to_save", unless: f["modules_to_save"] == nil || f["modules_to_save"] == .null)
            for pattern in ["rank_pattern", "alpha_pattern"] { try refuse(pattern, unless: f[pattern] == nil || f[pattern] == .object([])) }
            guard let r = f["r"]?.intValue else { throw JSONSchemaError(path: "\(configFile).r", problem: "expected an integer") }
            guard case let .number(alphaText)? = f["lora_alpha"], let alpha = Float(alphaText) else {
                throw JSONSchemaError(path: "\(configFile).lora_alpha", problem: "expected a number")
            }
            var names = [String]()
            switch f["target_modules"] {
            case let .string(s)?: names = [s]
            case let .array(a)?: names = try a.map { v throws(JSONSchemaError) in
                guard case let .string(s) = v else { throw JSONSchemaError(path: "\(configFile).target_modules", problem: "expected strings") }
                return s
            }
            default: throw JSONSchemaError(path: "\(configFile).target_modules", problem: "expected a list of module names")
            }
            let targets = try names.map { n throws(JSONSchemaError) in
                guard let t = LoRATarget(rawValue: n) else {
                    throw JSONSchemaError(path: "\(configFile).target_modules", problem: "\(n) is not an MLP projection (gate_proj, up_proj, down_proj)")
                }
                return t
            }
            do { lora = try LoRAParameters(rank: r, alpha: alpha, targets: targets) } catch { throw JSONSchemaError(path: configFile, problem: "\(error)") }
            switch f["layers_to_transform"] {
            case nil, .null?: layers = nil
            case let .number(t)?: layers = Int(t).map { [$0] }
            case let v?: layers = try v.intArray(path: "\(configFile).layers_to_transform")
            }
        } catch let e as JSONSchemaError {
            throw TributaryError("model.invalid_lora", e.description)
        }
        let file = try SafetensorsFile(path: dir + "/" + weightsFile)
        // The layers are those the tensors cover; layers_to_transform, when given, must say the same.
        var covered = Set<Int>()
        let prefix = "base_model.model.model.layers."
        for t in file.tensors {
            guard t.name.hasPrefix(prefix), let l = Int(t.name.dropFirst(prefix.count).prefix(while: { $0 != "." })),
                  lora.targets.contains(where: { t.name == tensorName(l, $0, "A") || t.name == tensorName(l, $0, "B") }) else {
                throw TributaryError("model.invalid_lora", "\(weightsFile) holds \(t.name), which is no factor of the configured targets")
            }
            covered.insert(l)
        }
        let all = covered.sorted()
        guard ModelFiles.isExpertLayerSet(all, numLayers: c.numLayers), layers.map({ $0.sorted() == all }) ?? true,
              file.tensors.count == all.count * 2 * lora.targets.count else {
            throw TributaryError("model.invalid_lora", "the adapter covers layers \(all) with \(file.tensors.count) tensors; the anchor has \(c.numLayers) layers and layers_to_transform says \(layers.map { "\($0)" } ?? "all")")
        }
        func factor(_ l: Int, _ t: LoRATarget, _ f: String, _ shape: [Int]) throws -> [Float] {
            let name = tensorName(l, t, f)
            guard try file.info(name).shape == shape else {
                throw TributaryError("model.shape_mismatch", "\(name) has shape \(try file.info(name).shape), the anchor needs \(shape)")
            }
            return try file.floats(name)
        }
        let factors = LoRAFactors(shape: lora, layers: all,
                                  a: try all.map { l in try lora.targets.map { try factor(l, $0, "A", [lora.rank, $0.shape(c).in]) } },
                                  b: try all.map { l in try lora.targets.map { try factor(l, $0, "B", [$0.shape(c).out, lora.rank]) } })
        var rows: [Float]?
        if FileManager.default.fileExists(atPath: dir + "/" + routerRowsFile) {
            let r = try SafetensorsFile(path: dir + "/" + routerRowsFile)
            guard r.tensors.count == 1, try r.info(TensorNames.routerRows).shape == [c.numLayers, c.hiddenSize] else {
                throw TributaryError("model.shape_mismatch", "\(routerRowsFile) must hold exactly \(TensorNames.routerRows) [\(c.numLayers), \(c.hiddenSize)]")
            }
            rows = try r.floats(TensorNames.routerRows)
            guard rows!.allSatisfy(\.isFinite) else { throw TributaryError("model.invalid_lora", "\(routerRowsFile) holds a NaN or infinite value") }
        }
        guard factors.a.joined().allSatisfy({ $0.allSatisfy(\.isFinite) }), factors.b.joined().allSatisfy({ $0.allSatisfy(\.isFinite) }) else {
            throw TributaryError("model.invalid_lora", "\(weightsFile) holds a NaN or infinite value")
        }
        return (factors, rows)
    }
}
