//! The runtime crate against the real API server: leader election hands the
//! lease over, and status is applied under a stable field manager with Flux's
//! condition semantics.

use std::time::Duration;

use kube::api::{Api, Patch, PatchParams};
use weir_api::source::v1::GitRepository;
use weir_runtime::conditions;
use weir_runtime::leader::{self, LeaseConfig};
use weir_test_support::TestNamespace;

fn lease(ns: &TestNamespace, identity: &str) -> LeaseConfig {
    LeaseConfig {
        name: "test-controller-leader-election".to_owned(),
        namespace: ns.name().to_owned(),
        identity: identity.to_owned(),
        duration: Duration::from_secs(4),
        renew_grace: Duration::from_secs(2),
    }
}

#[tokio::test]
async fn leader_lease_moves_to_the_standby_when_the_leader_stops() -> anyhow::Result<()> {
    let client = weir_test_support::client().await?;
    let ns = TestNamespace::new(&client, "leader").await?;

    let first = leader::acquire(client.clone(), &lease(&ns, "replica-a")).await?;
    assert!(first.is_leader());

    let standby_client = client.clone();
    let standby_lease = lease(&ns, "replica-b");
    let mut standby =
        tokio::spawn(async move { leader::acquire(standby_client, &standby_lease).await });
    // While the first replica holds the lease, the standby must keep waiting.
    assert!(
        tokio::time::timeout(Duration::from_secs(6), &mut standby)
            .await
            .is_err(),
        "the standby acquired a lease that was held and renewed"
    );

    drop(first); // releases the lease
    let second = tokio::time::timeout(Duration::from_secs(20), standby).await??;
    let second = second?;
    assert!(second.is_leader());

    let holder =
        Api::<k8s_openapi::api::coordination::v1::Lease>::namespaced(client.clone(), ns.name())
            .get("test-controller-leader-election")
            .await?
            .spec
            .and_then(|s| s.holder_identity);
    assert_eq!(holder.as_deref(), Some("replica-b"));
    Ok(())
}

#[tokio::test]
async fn status_is_applied_with_flux_condition_semantics() -> anyhow::Result<()> {
    let client = weir_test_support::client().await?;
    let ns = TestNamespace::new(&client, "status").await?;
    let api: Api<GitRepository> = ns.api();
    let repo = serde_json::json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": { "name": "podinfo" },
        "spec": { "url": "https://example.invalid/podinfo", "interval": "5m" }
    });
    let created = api
        .patch(
            "podinfo",
            &PatchParams::apply("test").force(),
            &Patch::Apply(&repo),
        )
        .await?;
    let generation = created.metadata.generation;

    let mut conds = Vec::new();
    conditions::mark_reconciling(&mut conds, "Progressing", "cloning", generation);
    conditions::mark_unknown(
        &mut conds,
        conditions::READY,
        "Progressing",
        "cloning",
        generation,
    );
    let status = serde_json::json!({ "conditions": conds, "observedGeneration": generation });
    weir_runtime::status::apply_status(&api, "podinfo", "source-controller", &status).await?;
    let got = api.get_status("podinfo").await?;
    let got_conds = got.status.and_then(|s| s.conditions).unwrap_or_default();
    assert!(conditions::is_true(&got_conds, conditions::RECONCILING));

    // The next apply leaves Reconciling out: the server drops it because this
    // field manager owned it.
    let mut conds = got_conds.clone();
    conditions::delete(&mut conds, conditions::RECONCILING);
    conditions::mark_true(
        &mut conds,
        conditions::READY,
        "Succeeded",
        "stored artifact",
        generation,
    );
    let status = serde_json::json!({ "conditions": conds, "observedGeneration": generation });
    weir_runtime::status::apply_status(&api, "podinfo", "source-controller", &status).await?;
    let got = api.get_status("podinfo").await?;
    let status = got.status.clone().unwrap_or_default();
    let got_conds = status.conditions.clone().unwrap_or_default();
    assert!(
        conditions::get(&got_conds, conditions::RECONCILING).is_none(),
        "{got_conds:?}"
    );
    assert!(conditions::is_ready_for(&got_conds, generation));
    assert_eq!(status.observed_generation, generation);

    let managers: Vec<String> = got
        .metadata
        .managed_fields
        .unwrap_or_default()
        .into_iter()
        .filter(|m| m.subresource.as_deref() == Some("status"))
        .filter_map(|m| m.manager)
        .collect();
    assert_eq!(managers, ["source-controller"]);
    Ok(())
}
