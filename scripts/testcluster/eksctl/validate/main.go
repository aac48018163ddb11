// Command eksctl-validate checks eksctl ClusterConfig files with eksctl's own code, the way
// `eksctl create cluster -f FILE` checks its config file before it makes its first AWS call.
//
//	eksctl-validate FILE...
//
// For each file it runs, in eksctl's order (eksctl v0.215.0, pinned in ../go.mod):
//
//  1. cmdutils.NewCreateClusterLoader(...).Load(), the create-cluster config loader: it reads
//     the file with eks.LoadConfigWithReader (a strict YAML unmarshal into api.ClusterConfig,
//     so an unknown field fails, then the API-machinery decode of apiVersion/kind), requires
//     metadata.name and metadata.region, fills the VPC/NAT/endpoint defaults, and runs the
//     loader's own checks: unset node groups, subnets vs availabilityZones, gitops, every
//     addon's Addon.Validate, Auto Mode and pod identity associations;
//  2. the part of Cmd.NewCtl that needs no AWS: Cmd.InitializeClusterConfig with validation
//     on (as the command's default --validate), that is api.SetClusterConfigDefaults,
//     api.ValidateClusterConfig (IAM service accounts, OIDC, node group names, CloudWatch
//     log types, availability-zone count, VPC, secrets encryption, access entries...),
//     api.ValidateNodeGroup and api.SetNodeGroupDefaults for self-managed node groups, and
//     api.SetManagedNodeGroupDefaults then api.ValidateManagedNodeGroup for every managed
//     node group; then the region against api.SupportedRegions (ClusterProvider.IsSupportedRegion);
//  3. the checks doCreateCluster makes before its first AWS call: api.IsInvalidNameArg on
//     the cluster name, ClusterConfig.ValidatePrivateCluster,
//     ClusterConfig.ValidateClusterEndpointConfig, accessentry.ValidateAPIServerAccess;
//  4. vpc.SetSubnets, the subnet layout create cluster computes from vpc.cidr and the
//     availability zones when eksctl creates the VPC (no subnets given).
//
// Not covered, because eksctl answers them from AWS: whether metadata.version is a version
// EKS supports now (eksctl v0.215.0 asks DescribeClusterVersions; an empty version becomes
// api.DefaultVersion here, as it does there), whether the availability zones exist in the
// region, instance type offerings per zone, AMI resolution, instance selector expansion,
// and anything CloudFormation refuses when the stacks are created.
//
// Each refusal is printed as "FILE: error" on stderr; the exit status is 1 when any file
// is refused, 2 on bad usage.
package main

import (
	"fmt"
	"os"
	"slices"

	"github.com/kris-nova/logger"
	"github.com/spf13/cobra"

	"github.com/weaveworks/eksctl/pkg/accessentry"
	api "github.com/weaveworks/eksctl/pkg/apis/eksctl.io/v1alpha5"
	"github.com/weaveworks/eksctl/pkg/ctl/cmdutils"
	"github.com/weaveworks/eksctl/pkg/ctl/cmdutils/filter"
	"github.com/weaveworks/eksctl/pkg/vpc"
)

func check(path string) error {
	// The command as cmdutils.AddResourceCmd makes it for `create cluster`, with -f FILE.
	cmd := &cmdutils.Cmd{
		CobraCommand:      &cobra.Command{},
		ClusterConfigFile: path,
		ClusterConfig:     api.NewClusterConfig(),
		ProviderConfig:    api.ProviderConfig{WaitTimeout: api.DefaultWaitTimeout},
		Plan:              true,
		Validate:          true,
	}
	params := &cmdutils.CreateClusterCmdParams{}
	if err := cmdutils.NewCreateClusterLoader(cmd, filter.NewNodeGroupFilter(), api.NewNodeGroup(), params).Load(); err != nil {
		return err
	}
	cfg := cmd.ClusterConfig

	// Cmd.NewCtl without eks.New (AWS clients) and without the cluster versions manager
	// (DescribeClusterVersions), whose answer for an empty version is api.DefaultVersion.
	if cfg.Metadata.Version == "" || cfg.Metadata.Version == "auto" {
		cfg.Metadata.Version = api.DefaultVersion
	}
	if err := cmd.InitializeClusterConfig(); err != nil {
		return err
	}
	if !slices.Contains(api.SupportedRegions(), cmd.ProviderConfig.Region) {
		return cmdutils.ErrUnsupportedRegion(&cmd.ProviderConfig)
	}

	// doCreateCluster up to its first AWS call.
	if cfg.Metadata.Name != "" && api.IsInvalidNameArg(cfg.Metadata.Name) {
		return api.ErrInvalidName(cfg.Metadata.Name)
	}
	if err := cfg.ValidatePrivateCluster(); err != nil {
		return err
	}
	if err := cfg.ValidateClusterEndpointConfig(); err != nil {
		return err
	}
	if err := accessentry.ValidateAPIServerAccess(cfg); err != nil {
		return err
	}
	// createOrImportVPC, for a VPC eksctl creates, once the zones are known.
	if !cfg.HasAnySubnets() && !cfg.IsControlPlaneOnOutposts() {
		if err := vpc.SetSubnets(cfg.VPC, cfg.AvailabilityZones, cfg.LocalZones); err != nil {
			return err
		}
	}
	return nil
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: eksctl-validate FILE...")
		os.Exit(2)
	}
	// eksctl's warnings (not refusals) go to stderr, so stdout stays the list of files passed;
	// its progress lines (the subnet layout) are left out.
	logger.Writer = os.Stderr
	logger.BitwiseLevel = logger.LogCritical | logger.LogWarning
	failed := false
	for _, path := range os.Args[1:] {
		if err := check(path); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", path, err)
			failed = true
			continue
		}
		fmt.Fprintf(os.Stdout, "%s: ok\n", path)
	}
	if failed {
		os.Exit(1)
	}
}
