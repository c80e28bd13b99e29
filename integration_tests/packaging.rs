//! Packaging: the Dockerfile and metadata.yaml follow the Airbyte image conventions.
//!
//! There is no Docker engine on CI machines, so the image is checked by reading the files:
//! the Dockerfile's instructions (ENTRYPOINT in exec form with an absolute path equal to
//! `AIRBYTE_ENTRYPOINT`, `io.airbyte.*` labels equal to metadata.yaml, a non-root `airbyte` user,
//! a writable `/airbyte`, a `--locked` release build) and metadata.yaml against the official
//! `ConnectorMetadataDefinitionV0` schema.
//!
//! The binary the image carries is built "the same way" in CI and by the demo: both run the
//! Dockerfile's exact `cargo build` command (a `--locked` release build of the whole workspace,
//! checked below) on the same target (x86_64-unknown-linux-gnu) with the same toolchain (checked
//! below), producing `target/release/source-atlassian-admin`. CI runs it through
//! spec/check/discover/read twice under PyAirbyte (`integration_tests/pyairbyte/`), and the other
//! integration tests run the same file via `CARGO_BIN_EXE_source-atlassian-admin`: `cargo test
//! --release --workspace` builds it with the same features, so the build that follows it is a
//! no-op.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::harness::{airbyte_schemas_dir, project_dir};

const CONNECTOR: &str = "source-atlassian-admin";

// ---- a small Dockerfile reader ----------------------------------------------------------------

#[derive(Debug, Clone)]
struct Instruction {
    line: usize,
    keyword: String,
    args: String,
}

#[derive(Debug)]
struct Stage {
    from: String,
    name: Option<String>,
    instructions: Vec<Instruction>,
}

impl Stage {
    fn all(&self, keyword: &str) -> Vec<&Instruction> {
        self.instructions.iter().filter(|i| i.keyword == keyword).collect()
    }

    fn last(&self, keyword: &str) -> Option<&Instruction> {
        self.instructions.iter().rev().find(|i| i.keyword == keyword)
    }
}

/// Instructions with line continuations joined and comments / parser directives dropped.
fn instructions(text: &str) -> Vec<Instruction> {
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (n, raw) in text.lines().enumerate() {
        let trimmed = raw.trim();
        if trimmed.starts_with('#') || (trimmed.is_empty() && current.is_none()) {
            continue;
        }
        let (continues, body) = match trimmed.strip_suffix('\\') {
            Some(b) => (true, b.trim_end()),
            None => (false, trimmed),
        };
        let entry = current.get_or_insert_with(|| (n + 1, String::new()));
        if !entry.1.is_empty() && !body.is_empty() {
            entry.1.push(' ');
        }
        entry.1.push_str(body);
        if !continues {
            let (line, joined) = current.take().unwrap();
            if joined.is_empty() {
                continue;
            }
            let (kw, args) = joined.split_once(char::is_whitespace).unwrap_or((&joined, ""));
            out.push(Instruction { line, keyword: kw.to_ascii_uppercase(), args: args.trim().to_string() });
        }
    }
    assert!(current.is_none(), "Dockerfile ends inside a line continuation");
    out
}

fn stages(text: &str) -> Vec<Stage> {
    let mut stages: Vec<Stage> = Vec::new();
    for ins in instructions(text) {
        if ins.keyword == "FROM" {
            let words: Vec<&str> = ins.args.split_whitespace().filter(|w| !w.starts_with("--")).collect();
            let name = match words.as_slice() {
                [_, as_kw, name] if as_kw.eq_ignore_ascii_case("as") => Some(name.to_string()),
                _ => None,
            };
            stages.push(Stage { from: words[0].to_string(), name, instructions: Vec::new() });
        } else {
            let stage = stages.last_mut().unwrap_or_else(|| panic!("line {}: {} before the first FROM", ins.line, ins.keyword));
            stage.instructions.push(ins);
        }
    }
    stages
}

/// Splits on whitespace, honouring double quotes; the quotes are removed.
fn shell_words(s: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_quotes = false;
    let mut has_word = false;
    for c in s.chars() {
        match c {
            '"' => {
                in_quotes = !in_quotes;
                has_word = true;
            }
            c if c.is_whitespace() && !in_quotes => {
                if has_word {
                    words.push(std::mem::take(&mut word));
                    has_word = false;
                }
            }
            c => {
                word.push(c);
                has_word = true;
            }
        }
    }
    assert!(!in_quotes, "unbalanced quotes in {s:?}");
    if has_word {
        words.push(word);
    }
    words
}

/// `KEY=VALUE ...` pairs (LABEL, ENV) — or the legacy `ENV KEY VALUE` form.
fn key_values(args: &str) -> BTreeMap<String, String> {
    let words = shell_words(args);
    if words.len() >= 2 && !words[0].contains('=') {
        return BTreeMap::from([(words[0].clone(), words[1..].join(" "))]);
    }
    words
        .iter()
        .map(|w| {
            let (k, v) = w.split_once('=').unwrap_or_else(|| panic!("not KEY=VALUE: {w:?} in {args:?}"));
            (k.to_string(), v.to_string())
        })
        .collect()
}

/// The shell commands of a RUN, split on `&&`, `;` and `|`, each as words.
fn run_commands(args: &str) -> Vec<Vec<String>> {
    args.split("&&").flat_map(|c| c.split(';')).flat_map(|c| c.split('|')).map(shell_words).filter(|w| !w.is_empty()).collect()
}

fn read(path: &str) -> String {
    std::fs::read_to_string(project_dir().join(path)).unwrap_or_else(|e| panic!("read {path}: {e}"))
}

fn dockerfile() -> Vec<Stage> {
    stages(&read("Dockerfile"))
}

fn metadata() -> Value {
    serde_saphyr::from_str(&read("metadata.yaml")).expect("metadata.yaml is YAML that converts to JSON")
}

fn cargo_version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

fn final_stage(stages: &[Stage]) -> &Stage {
    stages.last().expect("the Dockerfile has a FROM")
}

fn builder_stage(stages: &[Stage]) -> &Stage {
    stages.iter().find(|s| s.name.as_deref() == Some("builder")).expect("a build stage named `builder` (FROM ... AS builder)")
}

/// The words of the builder's `cargo build` command.
fn cargo_build_command(stages: &[Stage]) -> Vec<String> {
    let builds: Vec<Vec<String>> = builder_stage(stages)
        .all("RUN")
        .iter()
        .flat_map(|r| run_commands(&r.args))
        .filter(|c| c.len() >= 2 && c[0] == "cargo" && c[1] == "build")
        .collect();
    assert_eq!(builds.len(), 1, "exactly one `cargo build` in the builder stage: {builds:?}");
    builds[0].clone()
}

// ---- the Dockerfile ---------------------------------------------------------------------------

#[test]
fn dockerfile_is_multi_stage_with_a_locked_release_build_of_the_connector() {
    let stages = dockerfile();
    assert!(stages.len() >= 2, "a multi-stage build: builder + runtime");
    let builder = builder_stage(&stages);
    assert!(builder.from.starts_with("rust:"), "the builder uses an official rust image: {}", builder.from);
    let cmd = cargo_build_command(&stages);
    for flag in ["--release", "--locked"] {
        assert!(cmd.iter().any(|w| w == flag), "`cargo build` lacks {flag}: {cmd:?}");
    }
    // The whole workspace, as the demo and CI build it: one feature set, so the dependencies
    // are compiled once for all three (a `-p` build would unify features differently).
    assert!(cmd.iter().any(|w| w == "--workspace"), "builds the workspace, as the demo and CI do: {cmd:?}");
    assert!(!cmd.iter().any(|w| w == "-p" || w == "--package"), "no -p: it changes the feature set: {cmd:?}");
    // Same target as CI: the default host target of the amd64 builder, or this one spelled out.
    if let Some(t) = cmd.windows(2).find(|w| w[0] == "--target").map(|w| w[1].clone()) {
        assert_eq!(t, "x86_64-unknown-linux-gnu", "CI builds and tests x86_64-unknown-linux-gnu only");
    }
    assert!(!cmd.iter().any(|w| w.contains("musl")), "musl can't be built on CI machines");
    assert!(builder.from.ne(&final_stage(&stages).from), "the runtime stage is not the build image");
}

#[test]
fn dockerfile_builds_for_amd64_with_the_toolchain_ci_uses() {
    let stages = dockerfile();
    let text = read("Dockerfile");
    for line in text.lines().filter(|l| l.trim_start().to_ascii_uppercase().starts_with("FROM ")) {
        assert!(line.contains("--platform=linux/amd64"), "every stage is amd64 (the target CI builds): {line}");
    }
    // rust:X.Y[-...] — at least Cargo.toml's rust-version, and the toolchain CI builds with.
    let tag = builder_stage(&stages).from.trim_start_matches("rust:").to_string();
    let image_minor: Vec<u32> = tag.split('-').next().unwrap().split('.').take(2).map(|p| p.parse().unwrap()).collect();
    let manifest = read("Cargo.toml");
    let rust_version = manifest.lines().find_map(|l| l.strip_prefix("rust-version = ")).expect("rust-version in Cargo.toml");
    let msrv: Vec<u32> = rust_version.trim_matches('"').split('.').take(2).map(|p| p.parse().unwrap()).collect();
    assert!(image_minor >= msrv, "builder rust:{tag} is older than rust-version {rust_version}");
    let host_is_ci_target = cfg!(all(target_arch = "x86_64", target_os = "linux", target_env = "gnu"));
    match std::process::Command::new("rustc").arg("--version").output() {
        Ok(out) if out.status.success() && host_is_ci_target => {
            let v = String::from_utf8_lossy(&out.stdout).to_string(); // "rustc 1.95.0 (...)"
            let ci_minor: Vec<u32> =
                v.split_whitespace().nth(1).unwrap().split('.').take(2).map(|p| p.parse().unwrap()).collect();
            assert_eq!(image_minor, ci_minor, "the builder image (rust:{tag}) must use the toolchain CI builds with ({v}): bump the FROM line");
        }
        _ => eprintln!("note: not on x86_64-unknown-linux-gnu with rustc on PATH; toolchain equality not checked"),
    }
}

#[test]
fn ci_and_the_demo_build_the_image_binary_with_the_dockerfiles_exact_command() {
    let cmd = cargo_build_command(&dockerfile()).join(" ");
    for script in [".ci/run", "scripts/demo.sh"] {
        assert!(
            read(script).lines().any(|l| !l.trim_start().starts_with('#') && l.contains(&cmd)),
            "{script} must build the released binary exactly as the Dockerfile does (`{cmd}`)"
        );
    }
    // And the image copies that very file.
    let copies: Vec<String> = final_stage(&dockerfile()).all("COPY").iter().map(|c| c.args.clone()).collect();
    assert!(
        copies.iter().any(|c| c.contains("--from=builder") && c.contains(&format!("target/release/{CONNECTOR} "))),
        "the runtime copies target/release/{CONNECTOR} from the builder: {copies:?}"
    );
}

#[test]
fn entrypoint_is_exec_form_absolute_and_equals_airbyte_entrypoint() {
    let stages = dockerfile();
    let runtime = final_stage(&stages);
    let entry = runtime.last("ENTRYPOINT").expect("the runtime stage has an ENTRYPOINT");
    let argv: Vec<String> = serde_json::from_str(&entry.args)
        .unwrap_or_else(|e| panic!("line {}: ENTRYPOINT must be exec form (a JSON array of strings): {e}", entry.line));
    assert!(!argv.is_empty());
    assert!(argv[0].starts_with('/'), "ENTRYPOINT is an absolute path: {argv:?}");
    let env: BTreeMap<String, String> = runtime.all("ENV").iter().flat_map(|e| key_values(&e.args)).collect();
    let airbyte_entrypoint = env.get("AIRBYTE_ENTRYPOINT").expect("ENV AIRBYTE_ENTRYPOINT in the runtime stage");
    assert_eq!(airbyte_entrypoint, &argv.join(" "), "AIRBYTE_ENTRYPOINT must equal the ENTRYPOINT");
    // The entrypoint is the connector binary copied from the builder.
    let copied = runtime.all("COPY").iter().any(|c| {
        let words = shell_words(&c.args);
        words.iter().any(|w| w == "--from=builder")
            && words.last().map(|d| d == &argv[0] || (d.ends_with('/') && format!("{d}{CONNECTOR}") == argv[0])).unwrap_or(false)
    });
    assert!(copied, "the runtime stage copies the binary from the builder to {}", argv[0]);
    assert!(argv[0].ends_with(&format!("/{CONNECTOR}")));
}

#[test]
fn labels_match_metadata() {
    let stages = dockerfile();
    let labels: BTreeMap<String, String> = final_stage(&stages).all("LABEL").iter().flat_map(|l| key_values(&l.args)).collect();
    let meta = metadata();
    assert_eq!(labels.get("io.airbyte.name").map(String::as_str), meta["data"]["dockerRepository"].as_str(), "io.airbyte.name");
    assert_eq!(labels.get("io.airbyte.version").map(String::as_str), meta["data"]["dockerImageTag"].as_str(), "io.airbyte.version");
}

#[test]
fn runs_as_a_non_root_airbyte_user_with_a_writable_airbyte_dir() {
    let stages = dockerfile();
    let runtime = final_stage(&stages);
    let user = runtime.last("USER").expect("the runtime stage sets USER");
    // The last USER of the final stage is the user the container runs as.
    assert_eq!(user.args.split(':').next(), Some("airbyte"), "USER airbyte, not {:?}", user.args);

    let commands: Vec<Vec<String>> = runtime.all("RUN").iter().flat_map(|r| run_commands(&r.args)).collect();
    let creates_user = commands.iter().find(|c| (c[0] == "useradd" || c[0] == "adduser") && c.last().map(String::as_str) == Some("airbyte"));
    let creates_user = creates_user.expect("the runtime stage creates the airbyte user (useradd/adduser ... airbyte)");
    if let Some(uid) = creates_user.windows(2).find(|w| w[0] == "--uid" || w[0] == "-u").map(|w| w[1].clone()) {
        assert_ne!(uid.parse::<u32>().expect("numeric uid"), 0, "the airbyte user is not root");
    }
    let makes_dir = commands.iter().any(|c| c[0] == "mkdir" && c.iter().any(|a| a == "/airbyte" || a.starts_with("/airbyte/")));
    assert!(makes_dir, "the runtime stage creates /airbyte");
    let chowns = commands.iter().any(|c| {
        c[0] == "chown" && c.iter().any(|a| a.split(':').next() == Some("airbyte")) && c.iter().any(|a| a == "/airbyte" || a == "/airbyte/")
    });
    assert!(chowns, "the runtime stage makes /airbyte the airbyte user's (chown airbyte... /airbyte)");
}

#[test]
fn dockerignore_keeps_local_state_out_and_what_the_build_copies_in() {
    let ignore = read(".dockerignore");
    let patterns: Vec<&str> = ignore.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
    let excluded = |dir: &str| patterns.iter().any(|p| p.trim_start_matches('/').trim_end_matches('/') == dir);
    for dir in ["target", "output", ".git"] {
        assert!(excluded(dir), ".dockerignore must exclude {dir}/");
    }
    // Every source the builder copies exists and is not ignored.
    for copy in builder_stage(&dockerfile()).all("COPY") {
        let words: Vec<String> = shell_words(&copy.args).into_iter().filter(|w| !w.starts_with("--")).collect();
        for src in &words[..words.len() - 1] {
            let src = src.trim_end_matches('/');
            assert!(project_dir().join(src).exists(), "COPY {src}: no such file in the project");
            assert!(!excluded(src), "COPY {src}: excluded by .dockerignore");
        }
    }
}

// ---- metadata.yaml ----------------------------------------------------------------------------

/// The bundled schema keeps each sub-schema's `$id` from the file it was bundled from, while its
/// `$ref`s point into the bundle's root ("#/properties/data/..."). Under draft 7 a nested `$id`
/// changes the base of `#` references, so those refs would not resolve; dropping nested `$id`s
/// gives the schema the meaning its bundler intended. No keyword that validates is touched.
fn without_nested_ids(value: &mut Value, root: bool) {
    match value {
        Value::Object(map) => {
            if !root {
                map.remove("$id");
                map.remove("$schema");
            }
            for (k, v) in map.iter_mut() {
                // Property *names* `$id` would be data, not keywords; the bundle has none.
                if k != "enum" && k != "const" && k != "default" && k != "examples" {
                    without_nested_ids(v, false);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| without_nested_ids(v, false)),
        _ => {}
    }
}

/// The bundle also says `"type": "ConnectorMetric"` (3 times, in `generated.metrics`, a field the
/// registry fills at upload time) where a `$ref` to the sibling definition of that name is
/// meant; that is not valid draft 7, so a strict validator refuses to compile the schema. Turn
/// every `type` naming a definition of the enclosing schema into that `$ref`.
fn with_type_names_as_refs(value: &mut Value, pointer: &str) {
    let Value::Object(map) = value else { return };
    let definitions: Vec<String> = map.get("definitions").and_then(Value::as_object).map(|d| d.keys().cloned().collect()).unwrap_or_default();
    if let Some(Value::Object(props)) = map.get_mut("properties") {
        for prop in props.values_mut() {
            if let Some(name) = prop.get("type").and_then(Value::as_str).filter(|t| definitions.iter().any(|d| d == t)) {
                *prop = serde_json::json!({"$ref": format!("{pointer}/definitions/{name}")});
            }
        }
    }
    for (k, v) in map.iter_mut() {
        match v {
            Value::Object(_) => with_type_names_as_refs(v, &format!("{pointer}/{k}")),
            Value::Array(items) => {
                for (i, item) in items.iter_mut().enumerate() {
                    with_type_names_as_refs(item, &format!("{pointer}/{k}/{i}"));
                }
            }
            _ => {}
        }
    }
}

fn metadata_validator() -> jsonschema::Validator {
    let path = airbyte_schemas_dir().join("ConnectorMetadataDefinitionV0.bundled.json");
    let mut schema: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("read metadata schema")).unwrap();
    without_nested_ids(&mut schema, true);
    with_type_names_as_refs(&mut schema, "#");
    // `uuid` is not a draft 7 format, so validators skip it unless told what it means.
    jsonschema::options()
        .should_validate_formats(true)
        .with_format("uuid", is_uuid)
        .build(&schema)
        .expect("metadata schema compiles")
}

/// 8-4-4-4-12 hex digits.
fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12]) && groups.iter().all(|g| g.chars().all(|c| c.is_ascii_hexdigit()))
}

#[test]
fn metadata_validates_against_the_official_schema() {
    let validator = metadata_validator();
    let meta = metadata();
    let errors: Vec<String> = validator.iter_errors(&meta).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "metadata.yaml violates ConnectorMetadataDefinitionV0:\n{}", errors.join("\n"));
    assert_eq!(meta["metadataSpecVersion"], "1.0");
}

#[test]
fn the_schema_check_is_not_vacuous() {
    let validator = metadata_validator();
    let mut meta = metadata();
    meta["data"]["registries"] = serde_json::json!({"oss": {"enabled": true}});
    assert!(!validator.is_valid(&meta), "`registries` (instead of registryOverrides) must be rejected");
    let mut meta = metadata();
    meta["data"]["definitionId"] = "not-a-uuid".into();
    assert!(!validator.is_valid(&meta), "a definitionId that is not a UUID must be rejected");
    let mut meta = metadata();
    meta["data"]["connectorSubtype"] = "rest".into();
    assert!(!validator.is_valid(&meta));
    let mut meta = metadata();
    meta["data"].as_object_mut().unwrap().remove("githubIssueLabel");
    assert!(!validator.is_valid(&meta));
}

#[test]
fn metadata_describes_this_connector() {
    let meta = metadata();
    let data = &meta["data"];
    assert_eq!(data["dockerImageTag"].as_str(), Some(cargo_version().as_str()), "dockerImageTag must equal Cargo.toml's version");
    assert_eq!(data["connectorType"], "source");
    assert_eq!(data["connectorSubtype"], "api");
    assert_eq!(data["dockerRepository"], format!("airbyte/{CONNECTOR}"));
    assert_eq!(data["githubIssueLabel"], CONNECTOR);
    assert_eq!(data["license"], "MIT");
    // A fixed, literal UUID (platforms key their source definitions by it): lower-case hex v4.
    let id = data["definitionId"].as_str().expect("definitionId");
    assert!(is_uuid(id) && id == id.to_ascii_lowercase(), "definitionId {id}");
    assert_eq!(id, "c84a2a9c-b6a7-4142-bb21-8a97ce34033a", "definitionId must never change");

    let hosts: Vec<&str> = data["allowedHosts"]["hosts"].as_array().expect("allowedHosts.hosts").iter().filter_map(Value::as_str).collect();
    assert!(hosts.contains(&"api.atlassian.com"), "allowedHosts: {hosts:?}");
    let tags: Vec<&str> = data["tags"].as_array().expect("tags").iter().filter_map(Value::as_str).collect();
    assert!(tags.contains(&"language:rust"), "tags: {tags:?}");
    assert!(data["supportLevel"].is_string(), "supportLevel");
    assert!(data.get("registries").is_none(), "`registryOverrides`, not `registries`");

    // suggestedStreams name streams the connector really offers.
    let suggested: Vec<&str> = data["suggestedStreams"]["streams"].as_array().expect("suggestedStreams.streams").iter().filter_map(Value::as_str).collect();
    assert!(!suggested.is_empty());
    for s in &suggested {
        assert!(project_dir().join(format!("schemas/{s}.json")).exists(), "suggested stream {s} has no schema");
    }
    // The same documentation the connector's SPEC points to.
    let spec: Value = serde_json::from_str(&read("schemas/spec.json")).unwrap();
    assert_eq!(data["documentationUrl"], spec["documentationUrl"], "documentationUrl = SPEC's documentationUrl");
}

#[test]
fn changelog_has_an_entry_for_this_version() {
    let changelog = read("CHANGELOG.md");
    let heading = format!("## {}", cargo_version());
    assert!(changelog.lines().any(|l| l.starts_with(&heading)), "CHANGELOG.md has no `{heading}` entry");
}

// ---- one build for the demo, CI and the image ------------------------------------------------

/// Each dependency of the workspace with the features `cargo tree` resolves for it, with
/// (`dev`) or without the dev-dependencies' edges.
fn resolved_features(dev: bool) -> BTreeMap<String, String> {
    let edges = if dev { "normal,build,dev" } else { "normal,build" };
    let out = std::process::Command::new(env!("CARGO"))
        .args(["tree", "--workspace", "--locked", "--offline", "--prefix", "none", "-e", edges, "-f", "{p} [{f}]"])
        .current_dir(project_dir())
        .output()
        .expect("run cargo tree");
    assert!(out.status.success(), "cargo tree failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            // `(*)` marks a package listed before.
            let (package, features) = l.trim_end_matches(" (*)").rsplit_once(" [")?;
            let name_version = package.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
            Some((name_version, features.trim_end_matches(']').to_string()))
        })
        .collect()
}

/// The demo builds the workspace, CI then tests it: if a dev-dependency turned on a feature of a
/// dependency the release build shares, `cargo test` would compile that dependency (and all
/// that depends on it) a second time. The cure is to turn the feature on in the workspace too
/// (as sandbox/Cargo.toml does for bitflags).
#[test]
fn dev_dependencies_change_no_features_of_the_release_build() {
    let release = resolved_features(false);
    let test = resolved_features(true);
    assert!(release.len() > 50, "cargo tree listed too little: {release:?}");
    let differ: Vec<String> = release
        .iter()
        .filter_map(|(p, f)| test.get(p).filter(|t| *t != f).map(|t| format!("{p}: [{f}] in `cargo build`, [{t}] in `cargo test`")))
        .collect();
    assert!(differ.is_empty(), "features that differ between the release build and the test build:\n{}", differ.join("\n"));
}

// ---- the reader itself ------------------------------------------------------------------------

#[test]
fn dockerfile_reader_handles_continuations_quotes_and_both_env_forms() {
    let text = "# c\nFROM --platform=linux/amd64 rust:1 AS builder\nRUN a \\\n  && b \"x y\"\n\nFROM scratch\nENV A=\"1 2\" B=3\nENV C 4 5\nLABEL k=\"v\" \\\n      l=w\n";
    let s = stages(text);
    assert_eq!(s.len(), 2);
    assert_eq!(s[0].name.as_deref(), Some("builder"));
    assert_eq!(s[0].from, "rust:1");
    assert_eq!(run_commands(&s[0].instructions[0].args), vec![vec!["a".to_string()], vec!["b".into(), "x y".into()]]);
    assert_eq!(key_values(&s[1].instructions[0].args), BTreeMap::from([("A".into(), "1 2".into()), ("B".into(), "3".into())]));
    assert_eq!(key_values(&s[1].instructions[1].args), BTreeMap::from([("C".into(), "4 5".into())]));
    assert_eq!(key_values(&s[1].instructions[2].args).len(), 2);
}
