//! Throwaway certificate authorities for local test servers (the control
//! plane, the Git server): one CA, leaf certificates issued by it, valid
//! from 2020 to 2099 so clock skew never matters.

use anyhow::Context as _;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, date_time_ymd,
};

fn validity(params: &mut CertificateParams) {
    params.not_before = date_time_ymd(2020, 1, 1);
    params.not_after = date_time_ymd(2099, 1, 1);
}

/// A self-signed certificate authority.
pub(crate) struct Ca {
    /// The CA certificate, PEM.
    pub pem: String,
    /// The CA private key, PEM.
    pub key_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

/// A leaf certificate and its key.
pub(crate) struct Issued {
    pub cert: rcgen::Certificate,
    pub key: KeyPair,
}

impl Ca {
    pub fn new(common_name: &str) -> anyhow::Result<Self> {
        let key =
            KeyPair::generate().with_context(|| format!("generating the {common_name} key"))?;
        let mut params = CertificateParams::new(Vec::<String>::new()).context("CA parameters")?;
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        validity(&mut params);
        let cert = params
            .self_signed(&key)
            .with_context(|| format!("self-signing {common_name}"))?;
        Ok(Self {
            pem: cert.pem(),
            key_pem: key.serialize_pem(),
            issuer: Issuer::new(params, key),
        })
    }

    /// Issues a certificate for `common_name` (organisations become O=
    /// entries, e.g. `system:masters`) with the given subject alternative
    /// names and extended key usages.
    pub fn issue(
        &self,
        common_name: &str,
        organizations: &[&str],
        alt_names: &[&str],
        usages: &[ExtendedKeyUsagePurpose],
    ) -> anyhow::Result<Issued> {
        let key =
            KeyPair::generate().with_context(|| format!("generating the {common_name} key"))?;
        let names: Vec<String> = alt_names.iter().map(|n| (*n).to_owned()).collect();
        let mut params = CertificateParams::new(names)
            .with_context(|| format!("{common_name} certificate parameters"))?;
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        for org in organizations {
            params
                .distinguished_name
                .push(DnType::OrganizationName, *org);
        }
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = usages.to_vec();
        validity(&mut params);
        let cert = params
            .signed_by(&key, &self.issuer)
            .with_context(|| format!("signing the {common_name} certificate"))?;
        Ok(Issued { cert, key })
    }
}
