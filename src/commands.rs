//! The protocol's commands — spec, check, discover, read — as library calls that write their
//! messages through one [`Output`] and return the process exit code.

use std::io::Write;
use std::path::Path;

use crate::catalog::ConfiguredCatalog;
use crate::client::{AtlassianClient, RetryPolicy, MANAGED_ONLY};
use crate::config::{self, Config};
use crate::protocol::{ConnectionStatus, FailureType, Output};
use crate::state::StateInput;
use crate::streams;
use crate::read::users_pass::sees_every_user;
use crate::read::{self, Outcome};

/// Exit code of a command that did its job (including a `check` that reports FAILED).
pub const EXIT_OK: u8 = 0;
/// Exit code of a command that failed; an ERROR trace says why.
pub const EXIT_FAILED: u8 = 1;
/// Retries of one call during `check`, at most.
const CHECK_MAX_RETRIES: u32 = 2;

pub fn spec<W: Write>(out: &mut Output<W>) -> anyhow::Result<u8> {
    let mut spec = config::spec().clone();
    spec["protocol_version"] = "0.18.0".into();
    out.spec(&spec)?;
    Ok(EXIT_OK)
}

/// Validates the config, then proves the key, the org id (or finds it from the key) and read
/// access to users and workspaces with three one-item calls — a fourth, the managed accounts,
/// when the users search is refused: then it succeeds saying only managed accounts are
/// visible. Problems the user can fix are a FAILED status.
pub async fn check<W: Write>(out: &mut Output<W>, config_path: &Path) -> anyhow::Result<u8> {
    let config = match Config::from_file(config_path) {
        Ok(c) => c,
        Err(e) => {
            out.connection_status(ConnectionStatus::Failed, Some(&e.to_string()))?;
            return Ok(EXIT_OK);
        }
    };
    // check answers a person waiting for it: at most three attempts of a call, whatever
    // max_retries says, and a minute of rate-limit waits at most.
    let attempts = config.max_retries.min(CHECK_MAX_RETRIES) + 1;
    let retry = RetryPolicy { max_attempts: attempts, limit: "check makes at most 3 attempts of a call, fewer if 'max_retries' is lower", ..RetryPolicy::default() };
    let client = match AtlassianClient::new(&config) {
        Ok(c) => c.with_retry(retry).with_rate_limit_budget(std::time::Duration::from_secs(60).min(config.max_rate_limit_wait)),
        Err(e) => return fail(out, &e.to_string(), FailureType::SystemError),
    };
    let outcome = async {
        // The organization: found from the key when the config names none, else proven.
        let org = match client.find_org().await? {
            Some(found) => {
                let name = found.name.unwrap_or_else(|| found.id.clone());
                format!("'{name}' (org_id {}, found from the API key, which lists no other organization)", found.id)
            }
            None => {
                let org = client.get_org().await?;
                format!("'{}'", org.data.attributes.name.unwrap_or(org.data.id))
            }
        };
        // A key whose scopes do not reach the directory may still read the managed accounts.
        let every_user = sees_every_user(&client).await?;
        client.workspaces_page(None, 1).await?;
        Ok::<_, crate::client::ApiError>((org, every_user, optional_streams(&client).await))
    }
    .await;
    match outcome {
        Ok((org, every_user, optional)) => {
            let msg = if every_user {
                format!("Connected to organization {org}: users and workspaces are readable. {optional}")
            } else {
                format!("Connected to organization {org}: workspaces and managed accounts are readable, but {MANAGED_ONLY}. {optional}")
            };
            out.connection_status(ConnectionStatus::Succeeded, Some(&msg))?;
            Ok(EXIT_OK)
        }
        Err(e) if e.failure_type() == FailureType::SystemError => fail(out, &e.to_string(), e.failure_type()),
        Err(e) => {
            out.connection_status(ConnectionStatus::Failed, Some(&e.to_string()))?;
            Ok(EXIT_OK)
        }
    }
}

/// Which of the streams a key or plan may not reach ([`StreamInfo::optional`]) it can read:
/// each one's probe, one request.
///
/// [`StreamInfo::optional`]: crate::streams::StreamInfo::optional
async fn optional_streams(client: &AtlassianClient) -> String {
    let mut said = Vec::new();
    for entry in streams::ALL {
        let (Some(probe), Some(needs)) = (entry.probe, entry.id.info().optional) else { continue };
        let name = entry.id.name();
        said.push(match probe(client).await {
            Ok(None) => format!("{name} is readable"),
            Ok(Some(doubt)) => doubt,
            Err(e) if e.is_refused() => format!("{name} is not ({needs})"),
            Err(e) => format!("{name} could not be checked ({e})"),
        });
    }
    format!("Optional streams: {}", said.join("; "))
}

pub fn discover<W: Write>(out: &mut Output<W>, config_path: &Path) -> anyhow::Result<u8> {
    if let Err(e) = Config::from_file(config_path) {
        return fail(out, &e.to_string(), FailureType::ConfigError);
    }
    out.catalog(streams::catalog())?;
    Ok(EXIT_OK)
}

pub async fn read(
    out: &mut Output,
    config_path: &Path,
    catalog_path: &Path,
    state_path: Option<&Path>,
) -> anyhow::Result<u8> {
    // Every input is checked before the first request.
    let config = match Config::from_file(config_path) {
        Ok(c) => c,
        Err(e) => return fail(out, &e.to_string(), FailureType::ConfigError),
    };
    let catalog = match ConfiguredCatalog::from_file(catalog_path) {
        Ok(c) => c,
        Err(e) => return fail(out, &e.to_string(), FailureType::ConfigError),
    };
    let state = match state_path.map(StateInput::from_file).transpose() {
        Ok(s) => s.unwrap_or_default(),
        Err(e) => return fail(out, &e.to_string(), FailureType::ConfigError),
    };
    Ok(match read::run(out, &config, catalog, state).await? {
        Outcome::Done => EXIT_OK,
        Outcome::Failed => EXIT_FAILED,
        Outcome::Interrupted { exit_code } => exit_code,
    })
}

fn fail<W: Write>(out: &mut Output<W>, message: &str, failure_type: FailureType) -> anyhow::Result<u8> {
    out.error_trace(message, None, failure_type, None)?;
    Ok(EXIT_FAILED)
}
