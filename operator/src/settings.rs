//! Command-line settings turned into what the controllers use.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

/// Parses `key=value,key2=value2` into a selector on labels; empty means "everything".
pub fn parse_selector(text: &str) -> Result<LabelSelector, String> {
    let mut labels = BTreeMap::new();
    for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, value) = pair
            .split_once('=')
            .ok_or_else(|| format!("{pair:?} is not key=value"))?;
        let (key, value) = (key.trim(), value.trim());
        if key.is_empty() {
            return Err(format!("{pair:?} has an empty key"));
        }
        labels.insert(key.to_string(), value.to_string());
    }
    Ok(LabelSelector {
        match_labels: Some(labels),
        match_expressions: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors() {
        let s = parse_selector("kubernetes.io/metadata.name=ingress-nginx, team=web").unwrap();
        let labels = s.match_labels.unwrap();
        assert_eq!(labels["kubernetes.io/metadata.name"], "ingress-nginx");
        assert_eq!(labels["team"], "web");
        assert!(parse_selector("").unwrap().match_labels.unwrap().is_empty());
        assert!(parse_selector("novalue").is_err());
        assert!(parse_selector("=x").is_err());
    }
}
