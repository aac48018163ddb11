//! The one list of upstream Helm charts gen installs, each pinned to a
//! version. Upgrading a chart is a change of its `version` here and a
//! re-bless of the golden trees and examples (`GEN_BLESS=1 cargo test
//! --test golden`, then `--test generated`); read the chart's upgrade notes
//! first: the values gen derives (`emit::addons`, `emit::k3s`) name its keys.

/// A pinned chart of a Helm repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chart {
    /// The chart's name in its repository.
    pub chart: &'static str,
    /// The Helm repository's URL.
    pub repo: &'static str,
    /// The pinned chart version.
    pub version: &'static str,
}

/// ingress-nginx (`ingress.class: nginx` on K3s).
pub const INGRESS_NGINX: Chart = Chart {
    chart: "ingress-nginx",
    repo: "https://kubernetes.github.io/ingress-nginx",
    version: "4.12.1",
};

/// kube-prometheus-stack (`addons.monitoring`): the Prometheus operator,
/// Prometheus, Alertmanager, kube-state-metrics, node-exporter, Grafana.
pub const KUBE_PROMETHEUS_STACK: Chart = Chart {
    chart: "kube-prometheus-stack",
    repo: "https://prometheus-community.github.io/helm-charts",
    version: "88.5.3",
};

/// metrics-server (`addons.metrics_server`).
pub const METRICS_SERVER: Chart = Chart {
    chart: "metrics-server",
    repo: "https://kubernetes-sigs.github.io/metrics-server/",
    version: "3.13.1",
};

/// The AWS Load Balancer Controller (EKS, when an ALB or NLB fronts the
/// ingress). The chart's version is the controller's (`appVersion`
/// `v3.5.0`): `emit::iam`'s policy is written for it.
pub const AWS_LOAD_BALANCER_CONTROLLER: Chart = Chart {
    chart: "aws-load-balancer-controller",
    repo: "https://aws.github.io/eks-charts",
    version: "3.5.0",
};

/// The Amazon EBS CSI driver (EKS, when a service or add-on has a volume;
/// driver `v1.64.0`).
pub const AWS_EBS_CSI_DRIVER: Chart = Chart {
    chart: "aws-ebs-csi-driver",
    repo: "https://kubernetes-sigs.github.io/aws-ebs-csi-driver",
    version: "2.64.0",
};

/// Every chart gen may install.
pub const ALL: [Chart; 5] = [
    INGRESS_NGINX,
    KUBE_PROMETHEUS_STACK,
    METRICS_SERVER,
    AWS_LOAD_BALANCER_CONTROLLER,
    AWS_EBS_CSI_DRIVER,
];

#[cfg(test)]
mod tests {
    #[test]
    fn pins_are_exact_versions_of_distinct_charts() {
        let mut names: Vec<&str> = super::ALL.iter().map(|c| c.chart).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), super::ALL.len());
        for c in super::ALL {
            // A range (`^88`, `88.x`) would let a build install another
            // chart than the one the values were written for.
            let parts: Vec<&str> = c.version.split('.').collect();
            assert_eq!(parts.len(), 3, "{}", c.version);
            assert!(
                parts
                    .iter()
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())),
                "{}",
                c.version
            );
            assert!(c.repo.starts_with("https://"), "{}", c.repo);
        }
    }
}
