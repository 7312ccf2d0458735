//! `crds:` — OpenAPI definition files whose `x-kubernetes-*` extensions add
//! field specs (annotations, label selectors, identities, object references).

use crate::config::{NameBackRefs, TransformerConfig, merge_one};
use crate::error::{Error, Result};
use crate::kustomization::FieldSpec;
use crate::loader::Loader;
use crate::resid::Gvk;
use crate::yaml::{Limits, Mapping, Node, parse_single};

fn field<'a>(n: &'a Node, name: &str) -> Option<&'a Node> {
    let m = n.as_map()?;
    m.get(name).or_else(|| {
        m.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

fn ext(prop: &Node, name: &str) -> Option<String> {
    match prop.get(name)? {
        Node::Scalar(s) if s.is_string() => Some(s.value.clone()),
        _ => None,
    }
}

fn spec(gvk: &Gvk, path: &[String]) -> FieldSpec {
    FieldSpec {
        gvk: gvk.clone(),
        path: path.join("/"),
        create: false,
    }
}

fn load_type(
    tc: &mut TransformerConfig,
    gvk: &Gvk,
    defs: &Mapping,
    type_name: &str,
    path: &[String],
    depth: usize,
) -> Result<()> {
    if depth > 64 {
        return Err(Error::new(format!("reference cycle through {type_name}")));
    }
    let Some(def) = defs.get(type_name) else {
        return Ok(());
    };
    let Some(Node::Map(props)) = field(def, "Schema").and_then(|s| s.get("properties")) else {
        return Ok(());
    };
    for (prop_name, prop) in props.iter() {
        let mut p = path.to_vec();
        p.push(prop_name.clone());
        if ext(prop, "x-kubernetes-annotation").is_some() {
            merge_one(&mut tc.common_annotations, spec(gvk, &p))?;
        }
        if ext(prop, "x-kubernetes-label-selector").is_some() {
            merge_one(&mut tc.common_labels, spec(gvk, &p))?;
        }
        if ext(prop, "x-kubernetes-identity").is_some() {
            merge_one(&mut tc.name_prefix, spec(gvk, &p))?;
        }
        if let (Some(version), Some(kind)) = (
            ext(prop, "x-kubernetes-object-ref-api-version"),
            ext(prop, "x-kubernetes-object-ref-kind"),
        ) {
            let name_key =
                ext(prop, "x-kubernetes-object-ref-name-key").unwrap_or_else(|| "name".into());
            let mut rp = p.clone();
            rp.push(name_key);
            tc.add_name_reference(NameBackRefs {
                gvk: Gvk::new("", &version, &kind),
                referrers: vec![spec(gvk, &rp)],
            })?;
        }
        if let Some(r) = prop.get("$ref").and_then(Node::as_str) {
            load_type(tc, gvk, defs, r, &p, depth + 1)?;
        }
    }
    Ok(())
}

/// Reads the files listed under `crds:`.
pub fn load(ldr: &Loader, paths: &[String], limits: &Limits) -> Result<TransformerConfig> {
    let mut tc = TransformerConfig::default();
    for path in paths {
        let content = ldr.load(path)?;
        let text = String::from_utf8_lossy(&content).into_owned();
        let ctx = || format!("unable to parse open API definition from '{path}'");
        // Kustomize reads JSON strictly when the file starts with `{`.
        let doc = if text.starts_with('{') {
            let v: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| Error::new(e.to_string()).context(ctx()))?;
            crate::yaml::from_json(&v)
        } else {
            parse_single(&text, limits).map_err(|e| Error::from(e).context(ctx()))?
        };
        let Node::Map(defs) = &doc else {
            return Err(Error::new(format!(
                "unable to parse open API definition from '{path}': expected a mapping"
            )));
        };
        let mut file_tc = TransformerConfig::default();
        for (name, def) in defs.iter() {
            let Some(Node::Map(props)) = field(def, "Schema").and_then(|s| s.get("properties"))
            else {
                continue;
            };
            if !(props.contains_key("kind")
                && props.contains_key("apiVersion")
                && props.contains_key("metadata"))
            {
                continue;
            }
            let kind = name.rsplit('.').next().unwrap_or(name);
            let gvk = Gvk::new("", "", kind);
            let mut one = TransformerConfig::default();
            load_type(&mut one, &gvk, defs, name, &[], 0)?;
            file_tc.merge(&one)?;
        }
        tc.merge(&file_tc)?;
    }
    Ok(tc)
}
