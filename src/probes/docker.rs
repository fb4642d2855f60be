//! The docker client's side of a login: its configuration file (read, never written), the
//! credential helpers on PATH, and running one helper's `get`.

use super::Secret;
use futures::future::{BoxFuture, FutureExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What a credential helper's `get` answered.
#[derive(Debug, Clone, PartialEq)]
pub struct HelperAnswer {
    pub username: String,
    /// Registered with the output scrubber as soon as it is read.
    pub secret: Secret,
}

#[derive(Debug, Clone, PartialEq)]
pub enum HelperFailure {
    /// The helper could not be started (`detail`: the OS error).
    Spawn(String),
    /// No answer within the bound; the helper was killed.
    Timeout(Duration),
    /// It exited with a failure status; `message`: the first line it printed (helpers print
    /// their error, never a secret, when they fail), cut short.
    Exit {
        status: Option<i32>,
        message: String,
    },
    /// It exited 0 but its answer is not the `{"Username":..,"Secret":..}` JSON of the
    /// credential helper protocol (the answer itself is never kept).
    BadAnswer,
}

pub trait DockerProbe: Send + Sync {
    /// The text of the configuration file at `path`: `Ok(None)` when there is no such file.
    fn read_config(&self, path: &Path) -> Result<Option<String>, ConfigReadError>;
    /// Where `docker-credential-<name>` is on PATH, as the docker CLI would find it.
    fn helper_on_path(&self, name: &str) -> Option<PathBuf>;
    /// Runs `docker-credential-<name> get` with `registry` on stdin and `env` added to this
    /// process's environment, killed after `bound`.
    fn run_helper(
        &self,
        name: String,
        registry: String,
        env: Vec<(String, String)>,
        bound: Duration,
    ) -> BoxFuture<'_, Result<HelperAnswer, HelperFailure>>;
}

/// The most of a docker configuration file the doctor reads: real ones hold a few logins
/// and are a few KiB; a larger file is not read at all (docker itself reads it whole).
pub const CONFIG_READ_LIMIT: u64 = 4 * 1024 * 1024;

/// Why a configuration file was not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigReadError {
    /// Larger than [`CONFIG_READ_LIMIT`].
    TooLarge,
    /// The file exists but cannot be read: the short cause.
    Io(String),
}

/// Helper names the docker CLI would turn into a program name: no path separators.
pub fn valid_helper_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && name != "."
        && name != ".."
}

/// The real system: files, PATH and processes of this machine.
pub struct SystemDocker;

impl DockerProbe for SystemDocker {
    fn read_config(&self, path: &Path) -> Result<Option<String>, ConfigReadError> {
        use std::io::Read;
        let io = |e: std::io::Error| ConfigReadError::Io(crate::errors::shorten(&e.to_string()));
        let file = match std::fs::File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(e)),
        };
        // bounded: a file that never ends (a FIFO, /dev/zero) or a huge one is not read
        let mut bytes = Vec::new();
        file.take(CONFIG_READ_LIMIT + 1)
            .read_to_end(&mut bytes)
            .map_err(io)?;
        if bytes.len() as u64 > CONFIG_READ_LIMIT {
            return Err(ConfigReadError::TooLarge);
        }
        Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
    }

    fn helper_on_path(&self, name: &str) -> Option<PathBuf> {
        if !valid_helper_name(name) {
            return None;
        }
        let program = format!("docker-credential-{name}");
        let path = std::env::var_os("PATH")?;
        std::env::split_paths(&path)
            .filter(|d| !d.as_os_str().is_empty())
            .map(|d| d.join(&program))
            .find(|p| is_executable(p))
    }

    fn run_helper(
        &self,
        name: String,
        registry: String,
        env: Vec<(String, String)>,
        bound: Duration,
    ) -> BoxFuture<'_, Result<HelperAnswer, HelperFailure>> {
        async move {
            let Some(program) = self.helper_on_path(&name) else {
                return Err(HelperFailure::Spawn(format!("docker-credential-{name}")));
            };
            let mut cmd = tokio::process::Command::new(program);
            cmd.arg("get")
                .envs(env)
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .kill_on_drop(true);
            let run = async {
                let mut child = cmd
                    .spawn()
                    .map_err(|e| HelperFailure::Spawn(e.to_string()))?;
                if let Some(mut stdin) = child.stdin.take() {
                    use tokio::io::AsyncWriteExt;
                    // a helper that does not read its stdin is not an error of ours
                    let _ = stdin.write_all(registry.as_bytes()).await;
                    let _ = stdin.shutdown().await;
                }
                child
                    .wait_with_output()
                    .await
                    .map_err(|e| HelperFailure::Spawn(e.to_string()))
            };
            let out = match tokio::time::timeout(bound, run).await {
                Ok(r) => r?,
                Err(_) => return Err(HelperFailure::Timeout(bound)),
            };
            if !out.status.success() {
                let text = if out.stdout.iter().any(|b| !b.is_ascii_whitespace()) {
                    &out.stdout
                } else {
                    &out.stderr
                };
                let line = String::from_utf8_lossy(text)
                    .lines()
                    .map(str::trim)
                    .find(|l| !l.is_empty())
                    .unwrap_or_default()
                    .to_string();
                return Err(HelperFailure::Exit {
                    status: out.status.code(),
                    message: crate::errors::shorten(&line),
                });
            }
            parse_answer(&out.stdout).ok_or(HelperFailure::BadAnswer)
        }
        .boxed()
    }
}

/// `{"ServerURL": .., "Username": .., "Secret": ..}`; the secret is registered at once.
pub fn parse_answer(stdout: &[u8]) -> Option<HelperAnswer> {
    let v: serde_json::Value = serde_json::from_slice(stdout).ok()?;
    let secret = v.get("Secret")?.as_str()?;
    let secret = Secret::new(secret);
    let username = v.get("Username")?.as_str()?.to_string();
    Some(HelperAnswer { username, secret })
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
pub mod fake {
    //! A scripted docker client for the check's unit tests.
    use super::*;
    use std::collections::HashMap;
    use std::sync::Mutex;

    /// One helper run: (name, registry, added environment).
    pub type Run = (String, String, Vec<(String, String)>);

    #[derive(Default)]
    pub struct FakeDocker {
        /// Config files by path; a path that is absent has no file.
        pub files: HashMap<PathBuf, Result<String, String>>,
        /// Helper names on PATH.
        pub helpers: Vec<String>,
        /// What each helper's `get` answers.
        pub answers: HashMap<String, Result<HelperAnswer, HelperFailure>>,
        /// Every helper run: (name, registry, env).
        pub runs: Mutex<Vec<Run>>,
    }

    impl DockerProbe for FakeDocker {
        fn read_config(&self, path: &Path) -> Result<Option<String>, ConfigReadError> {
            match self.files.get(path) {
                None => Ok(None),
                Some(Ok(t)) if t.len() as u64 > CONFIG_READ_LIMIT => Err(ConfigReadError::TooLarge),
                Some(Ok(t)) => Ok(Some(t.clone())),
                Some(Err(e)) => Err(ConfigReadError::Io(e.clone())),
            }
        }
        fn helper_on_path(&self, name: &str) -> Option<PathBuf> {
            self.helpers
                .iter()
                .any(|h| h == name)
                .then(|| PathBuf::from(format!("/usr/bin/docker-credential-{name}")))
        }
        fn run_helper(
            &self,
            name: String,
            registry: String,
            env: Vec<(String, String)>,
            _bound: Duration,
        ) -> BoxFuture<'_, Result<HelperAnswer, HelperFailure>> {
            let r = self
                .answers
                .get(&name)
                .cloned()
                .unwrap_or(Err(HelperFailure::BadAnswer));
            self.runs.lock().unwrap().push((name, registry, env));
            async move { r }.boxed()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helper_names_cannot_be_paths() {
        assert!(valid_helper_name("ecr-login"));
        assert!(valid_helper_name("desktop.exe"));
        for bad in ["", "..", "../../bin/sh", "a/b", "x y"] {
            assert!(!valid_helper_name(bad), "{bad}");
        }
    }

    #[test]
    fn answers_are_parsed_and_their_secret_kept_out_of_debug() {
        let a = parse_answer(br#"{"ServerURL":"h","Username":"AWS","Secret":"helper-secret-123"}"#)
            .unwrap();
        assert_eq!(a.username, "AWS");
        assert_eq!(a.secret.expose(), "helper-secret-123");
        assert!(!format!("{a:?}").contains("helper-secret-123"));
        assert!(parse_answer(b"credentials not found").is_none());
        assert!(parse_answer(br#"{"Username":"AWS"}"#).is_none());
    }
}
