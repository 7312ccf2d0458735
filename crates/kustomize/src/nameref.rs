//! Updating references to renamed resources (ConfigMaps in volumes, service
//! accounts in role bindings, ...), driven by the name-reference table.

use std::collections::HashMap;

use crate::config::NameBackRefs;
use crate::error::{Error, Result};
use crate::fieldspec::{CreateKind, apply, set_scalar};
use crate::kustomization::FieldSpec;
use crate::resid::{Gvk, ResId};
use crate::resmap::ResMap;
use crate::resource::Resource;
use crate::yaml::Node;

/// Whether `b` ends with all of `a` (or the other way round).
fn same_ending_sub_slice(a: &[String], b: &[String]) -> bool {
    if a.is_empty() && b.is_empty() {
        return true;
    }
    if a.is_empty() || b.is_empty() {
        return false;
    }
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    long[long.len() - short.len()..] == *short
}

fn prefixes_suffixes_equal(r: &Resource, o: &Resource, allow_empty: bool) -> bool {
    if allow_empty {
        let pe = r.prefixes.is_empty() || o.prefixes.is_empty();
        let se = r.suffixes.is_empty() || o.suffixes.is_empty();
        (pe || same_ending_sub_slice(&r.prefixes, &o.prefixes))
            && (se || same_ending_sub_slice(&r.suffixes, &o.suffixes))
    } else {
        same_ending_sub_slice(&r.prefixes, &o.prefixes)
            && same_ending_sub_slice(&r.suffixes, &o.suffixes)
    }
}

/// Namespaces of ServiceAccount subjects of a RoleBinding.
fn role_binding_namespaces(r: &Resource) -> Result<Vec<String>> {
    let mut out = Vec::new();
    if r.kind() != "RoleBinding" {
        return Ok(out);
    }
    if let Some(Node::Seq(subjects)) = r.node.get("subjects") {
        for s in subjects {
            let (Some(ns), Some(kind)) = (s.get("namespace"), s.get("kind")) else {
                continue;
            };
            if kind.as_str() == Some("ServiceAccount") {
                match ns.as_scalar() {
                    Some(sc) if sc.is_string() => out.push(sc.value.clone()),
                    _ => {
                        return Err(Error::new(format!(
                            "Invalid Input: namespace is blank for resource {:?}",
                            r.cur_id().to_string()
                        )));
                    }
                }
            }
        }
    }
    Ok(out)
}

/// Indices of resources the referrer could refer to.
fn candidates_for(rm: &ResMap, ids: &Ids, referrer: usize) -> Result<Vec<usize>> {
    let rid = &ids.cur[referrer];
    if rid.gvk.is_cluster_scoped() {
        return Ok((0..rm.len()).collect());
    }
    let rb = role_binding_namespaces(rm.get(referrer))?;
    let mut out = Vec::new();
    for (i, id) in ids.cur.iter().enumerate() {
        if id.gvk.is_cluster_scoped() || id.is_ns_equals(rid) || rb.contains(&id.namespace) {
            out.push(i);
        }
    }
    Ok(out)
}

/// Identities of every resource, computed once.
struct Ids {
    cur: Vec<ResId>,
    prev: Vec<Vec<ResId>>,
}

impl Ids {
    fn new(rm: &ResMap) -> Ids {
        Ids {
            cur: rm.resources().iter().map(Resource::cur_id).collect(),
            prev: rm.resources().iter().map(Resource::prev_res_ids).collect(),
        }
    }

    fn org(&self, i: usize) -> &ResId {
        self.prev[i].first().unwrap_or(&self.cur[i])
    }
}

struct Ctx<'a> {
    rm: &'a ResMap,
    ids: &'a Ids,
    referrer: &'a Resource,
    referrer_id: ResId,
    target: &'a Gvk,
    path: &'a str,
    candidates: &'a [usize],
    referrals: Vec<usize>,
}

impl Ctx<'_> {
    fn role_ref_gvk(&self) -> Option<Gvk> {
        if !self.path.ends_with("roleRef/name") {
            return None;
        }
        let rr = self.referrer.node.get("roleRef")?;
        let group = rr.get("apiGroup")?.as_scalar()?.value.clone();
        let kind = rr.get("kind")?.as_scalar()?.value.clone();
        Some(Gvk::new(&group, "", &kind))
    }

    fn select(&self, old_name: &str, cands: &[usize], by_ns_too: bool) -> Result<Option<usize>> {
        let rm = self.rm;
        let role_ref = self.role_ref_gvk();
        let referrer_cluster = self.referrer_id.gvk.is_cluster_scoped();
        let mut c: Vec<usize> = cands
            .iter()
            .copied()
            .filter(|&i| self.ids.prev[i].iter().any(|p| p.name == old_name))
            .filter(|&i| {
                self.ids.prev[i]
                    .iter()
                    .any(|p| p.gvk.is_selected_by(self.target))
            })
            .filter(|&i| match &role_ref {
                None => true,
                Some(g) => self.ids.prev[i].iter().any(|p| p.gvk.is_selected_by(g)),
            })
            .filter(|&i| {
                if referrer_cluster {
                    return true;
                }
                let id = &self.ids.cur[i];
                id.gvk.is_cluster_scoped()
                    || id.gvk.kind == "ServiceAccount"
                    || self.referrer_id.is_ns_equals(id)
            })
            .collect();
        if c.len() == 1 {
            return Ok(Some(c[0]));
        }
        c.retain(|&i| prefixes_suffixes_equal(rm.get(i), self.referrer, true));
        if c.len() > 1 {
            c.retain(|&i| prefixes_suffixes_equal(rm.get(i), self.referrer, false));
        }
        match c.len() {
            0 => Ok(None),
            1 => Ok(Some(c[0])),
            _ => {
                let first = rm.get(c[0]);
                let identical = c.iter().all(|&i| {
                    let r = rm.get(i);
                    r.name() == first.name() && (!by_ns_too || r.namespace() == first.namespace())
                });
                if identical {
                    return Ok(Some(c[0]));
                }
                let ids: Vec<String> = c.iter().map(|&i| rm.get(i).cur_id().to_string()).collect();
                Err(Error::new(format!(
                    "found multiple possible referrals: {}",
                    ids.join(", ")
                )))
            }
        }
    }

    fn set_scalar_ref(&mut self, node: &mut Node) -> Result<()> {
        let Some(old) = node.as_scalar().map(|s| s.value.clone()) else {
            return Ok(());
        };
        let cands = self.candidates.to_vec();
        let Some(i) = self.select(&old, &cands, false)? else {
            return Ok(());
        };
        self.referrals.push(i);
        let new_name = self.rm.get(i).name().to_string();
        if new_name == old {
            return Ok(());
        }
        set_scalar(node, &new_name, None)
    }

    fn set_mapping_ref(&mut self, node: &mut Node) -> Result<()> {
        let Node::Map(m) = node else {
            return Err(Error::new("expect a mapping node"));
        };
        let Some(name_node) = m.get("name") else {
            return Err(Error::new("path config error; no 'name' field in node"));
        };
        let old = name_node
            .as_scalar()
            .map(|s| s.value.clone())
            .unwrap_or_default();
        let cands: Vec<usize> = match m.get("namespace") {
            None => self.candidates.to_vec(),
            Some(ns_node) => {
                let ns = ns_node
                    .as_scalar()
                    .map(|s| s.value.clone())
                    .unwrap_or_default();
                let by_org: Vec<usize> = self
                    .candidates
                    .iter()
                    .copied()
                    .filter(|&i| {
                        let o = self.ids.org(i);
                        !o.gvk.is_cluster_scoped() && o.effective_namespace() == ns
                    })
                    .collect();
                if !by_org.is_empty() {
                    by_org
                } else {
                    self.candidates
                        .iter()
                        .copied()
                        .filter(|&i| {
                            let c = &self.ids.cur[i];
                            !c.gvk.is_cluster_scoped() && c.effective_namespace() == ns
                        })
                        .collect()
                }
            }
        };
        let Some(i) = self.select(&old, &cands, true)? else {
            return Ok(());
        };
        self.referrals.push(i);
        let target = self.rm.get(i);
        let (new_name, new_ns) = (target.name().to_string(), target.namespace().to_string());
        if new_name == old && new_ns.is_empty() {
            return Ok(());
        }
        if let Some(n) = m.get_mut("name") {
            set_scalar(n, &new_name, None)?;
        }
        if new_ns.is_empty() {
            return Ok(());
        }
        match m.get_mut("namespace") {
            Some(n) => set_scalar(n, &new_ns, None),
            None => {
                m.insert("namespace", Node::plain(new_ns));
                Ok(())
            }
        }
    }

    fn set(&mut self, node: &mut Node) -> Result<()> {
        if node.is_null() {
            return Ok(());
        }
        match node {
            Node::Scalar(_) => self.set_scalar_ref(node),
            Node::Map(_) => self.set_mapping_ref(node),
            Node::Seq(items) => {
                for it in items.iter_mut() {
                    if it.is_null() {
                        continue;
                    }
                    match it {
                        Node::Scalar(_) => self.set_scalar_ref(it)?,
                        Node::Map(_) => self.set_mapping_ref(it)?,
                        Node::Seq(_) => {
                            return Err(Error::new(
                                "is expected to be either a string or a map of string",
                            ));
                        }
                    }
                }
                Ok(())
            }
        }
    }
}

/// Rewrites name references throughout the resource map.
pub fn fix_back_references(rm: &mut ResMap, backrefs: &[NameBackRefs]) -> Result<()> {
    let ids = Ids::new(rm);
    let org_ids: Vec<ResId> = (0..rm.len()).map(|i| ids.org(i).clone()).collect();
    // For each referrer, the (field spec, referral target) pairs to apply.
    let mut plan: HashMap<usize, Vec<(FieldSpec, Gvk)>> = HashMap::new();
    for br in backrefs {
        for spec in &br.referrers {
            for (i, org) in org_ids.iter().enumerate() {
                if org.gvk.is_selected_by(&spec.gvk) {
                    plan.entry(i)
                        .or_default()
                        .push((spec.clone(), br.gvk.clone()));
                }
            }
        }
    }
    let mut order: Vec<usize> = plan.keys().copied().collect();
    order.sort_unstable();
    let mut ref_by: Vec<(usize, ResId)> = Vec::new();
    for i in order {
        let candidates = candidates_for(rm, &ids, i)?;
        let mut node = rm.get(i).node.clone();
        for (spec, target) in &plan[&i] {
            let referrer = rm.get(i);
            let mut fs = spec.clone();
            fs.gvk = referrer.gvk();
            let mut ctx = Ctx {
                rm,
                ids: &ids,
                referrer,
                referrer_id: referrer.cur_id(),
                target,
                path: &spec.path,
                candidates: &candidates,
                referrals: Vec::new(),
            };
            apply(&mut node, &fs, &CreateKind::Nothing, &mut |n| ctx.set(n)).map_err(|e| {
                e.context(format!(
                    "updating name reference in '{}' field of '{}'",
                    spec.path,
                    referrer.cur_id()
                ))
            })?;
            let rid = referrer.cur_id();
            ref_by.extend(ctx.referrals.into_iter().map(|t| (t, rid.clone())));
        }
        rm.get_mut(i).node = node;
    }
    for (t, id) in ref_by {
        rm.get_mut(t).ref_by.push(id);
    }
    Ok(())
}
