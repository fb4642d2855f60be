//! The real process environment.

use super::EnvProbe;

pub struct ProcessEnv;

impl EnvProbe for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
    fn path_exists(&self, path: &str) -> bool {
        std::path::Path::new(path).exists()
    }
}

/// An environment made of fixed pairs, for tests.
#[derive(Default, Clone)]
pub struct FixedEnv(pub std::collections::HashMap<String, String>);

impl FixedEnv {
    pub fn with(pairs: &[(&str, &str)]) -> FixedEnv {
        FixedEnv(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }
}

impl EnvProbe for FixedEnv {
    fn var(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned().filter(|v| !v.is_empty())
    }
}
