//! An ordered list of resources with unique identities.

use crate::error::{Error, Result};
use crate::resid::ResId;
use crate::resource::Resource;

fn id_key(id: &ResId) -> (crate::resid::Gvk, String, String) {
    (
        id.gvk.clone(),
        id.name.clone(),
        id.effective_namespace().to_string(),
    )
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResMap {
    resources: Vec<Resource>,
}

impl ResMap {
    pub fn new() -> ResMap {
        ResMap::default()
    }

    pub fn len(&self) -> usize {
        self.resources.len()
    }

    pub fn is_empty(&self) -> bool {
        self.resources.is_empty()
    }

    pub fn resources(&self) -> &[Resource] {
        &self.resources
    }

    pub fn resources_mut(&mut self) -> &mut Vec<Resource> {
        &mut self.resources
    }

    pub fn into_resources(self) -> Vec<Resource> {
        self.resources
    }

    /// Appends a resource; its current id must not be taken.
    pub fn append(&mut self, r: Resource) -> Result<()> {
        let id = r.cur_id();
        if self.resources.iter().any(|x| x.cur_id().equals(&id)) {
            return Err(Error::new(format!(
                "may not add resource with an already registered id: {id}"
            )));
        }
        self.resources.push(r);
        Ok(())
    }

    pub fn append_all(&mut self, other: ResMap) -> Result<()> {
        self.extend_checked(other.resources)
    }

    /// Appends resources whose current ids must all be free (checked with
    /// one pass over the existing ids).
    pub fn extend_checked(&mut self, incoming: Vec<Resource>) -> Result<()> {
        let mut seen: std::collections::HashSet<(crate::resid::Gvk, String, String)> =
            self.resources.iter().map(|r| id_key(&r.cur_id())).collect();
        for r in incoming {
            let id = r.cur_id();
            if !seen.insert(id_key(&id)) {
                return Err(Error::new(format!(
                    "may not add resource with an already registered id: {id}"
                )));
            }
            self.resources.push(r);
        }
        Ok(())
    }

    /// The first current id shared by two resources, if any.
    pub fn first_duplicate_id(&self) -> Option<ResId> {
        let mut seen = std::collections::HashSet::new();
        for r in &self.resources {
            let id = r.cur_id();
            if !seen.insert(id_key(&id)) {
                return Some(id);
            }
        }
        None
    }

    /// Indices of resources whose current id matches.
    pub fn by_current_id(&self, f: impl Fn(&ResId) -> bool) -> Vec<usize> {
        (0..self.resources.len())
            .filter(|&i| f(&self.resources[i].cur_id()))
            .collect()
    }

    /// Indices of resources whose original id matches.
    pub fn by_original_id(&self, f: impl Fn(&ResId) -> bool) -> Vec<usize> {
        (0..self.resources.len())
            .filter(|&i| f(&self.resources[i].org_id()))
            .collect()
    }

    /// Indices of resources matching by any of their ids (current or previous).
    pub fn by_any_id(&self, f: impl Fn(&ResId) -> bool) -> Vec<usize> {
        (0..self.resources.len())
            .filter(|&i| {
                let r = &self.resources[i];
                f(&r.cur_id()) || r.prev_res_ids().iter().any(&f)
            })
            .collect()
    }

    pub fn get(&self, i: usize) -> &Resource {
        &self.resources[i]
    }

    pub fn get_mut(&mut self, i: usize) -> &mut Resource {
        &mut self.resources[i]
    }

    pub fn remove(&mut self, i: usize) -> Resource {
        self.resources.remove(i)
    }

    pub fn replace(&mut self, i: usize, r: Resource) {
        self.resources[i] = r;
    }

    pub fn clear(&mut self) {
        self.resources.clear();
    }
}
