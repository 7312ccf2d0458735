// Command weir-controlplane bundles a complete local Kubernetes control plane
// (etcd, kube-apiserver, kube-controller-manager, kube-scheduler), kwok (fake
// nodes and pods) and kubectl into one binary for Weir's integration tests.
//
// Each component is a sub-command and is meant to run in its own process:
//
//	weir-controlplane etcd [etcd flags]
//	weir-controlplane kube-apiserver [flags]
//	weir-controlplane kube-controller-manager [flags]
//	weir-controlplane kube-scheduler [flags]
//	weir-controlplane kwok [flags]
//	weir-controlplane kubectl [args]
//
// crates/test-support (src/cluster.rs) builds it with
//
//	go build -trimpath -buildvcs=false -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=<k8s.io/kubernetes version> -X k8s.io/client-go/pkg/version.gitVersion=<same> ..." -o <cache>/weir-controlplane .
//
// (without the -X flags the components report version v0.0.0-master) and
// starts and stops the processes.
package main

import (
	"fmt"
	"os"
	"strings"
	_ "time/tzdata" // CronJob time zone support, as in the upstream binaries.

	"github.com/spf13/pflag"
	"go.etcd.io/etcd/server/v3/etcdmain"
	"k8s.io/component-base/cli"
	"k8s.io/component-base/logs"
	_ "k8s.io/component-base/logs/json/register"          // JSON log format registration.
	_ "k8s.io/component-base/metrics/prometheus/clientgo" // client-go prometheus plugins.
	_ "k8s.io/component-base/metrics/prometheus/version"  // version metric registration.
	kubectlcmd "k8s.io/kubectl/pkg/cmd"
	kubectlutil "k8s.io/kubectl/pkg/cmd/util"
	apiserverapp "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanagerapp "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	schedulerapp "k8s.io/kubernetes/cmd/kube-scheduler/app"

	nodefast "sigs.k8s.io/kwok/kustomize/stage/node/fast"
	nodeheartbeat "sigs.k8s.io/kwok/kustomize/stage/node/heartbeat-with-lease"
	podfast "sigs.k8s.io/kwok/kustomize/stage/pod/fast"
	kwokconfig "sigs.k8s.io/kwok/pkg/config"
	kwokcmd "sigs.k8s.io/kwok/pkg/kwok/cmd"
	kwoklog "sigs.k8s.io/kwok/pkg/log"
	kwoksignals "sigs.k8s.io/kwok/pkg/utils/signals"
)

const usage = `usage: weir-controlplane <component> [args...]

components:
  etcd                     etcd server (go.etcd.io/etcd/server/v3/etcdmain)
  kube-apiserver           Kubernetes API server
  kube-controller-manager  Kubernetes controller manager
  kube-scheduler           Kubernetes scheduler
  kwok                     kwok controller with the node-fast, node-heartbeat-with-lease and pod-fast stages
  kubectl                  kubectl
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	component := os.Args[1]
	// Every component parses os.Args itself: drop the sub-command so each
	// sees exactly the arguments it would get as a standalone binary.
	os.Args = append([]string{component}, os.Args[2:]...)

	switch component {
	case "etcd":
		etcdmain.Main(os.Args)
	case "kube-apiserver":
		os.Exit(cli.Run(apiserverapp.NewAPIServerCommand()))
	case "kube-controller-manager":
		os.Exit(cli.Run(controllermanagerapp.NewControllerManagerCommand()))
	case "kube-scheduler":
		os.Exit(cli.Run(schedulerapp.NewSchedulerCommand()))
	case "kubectl":
		runKubectl()
	case "kwok":
		os.Exit(runKwok())
	case "-h", "--help", "help":
		fmt.Fprint(os.Stdout, usage)
	default:
		fmt.Fprintf(os.Stderr, "unknown component %q\n\n%s", component, usage)
		os.Exit(2)
	}
}

func runKubectl() {
	_, _ = logs.GlogSetter(kubectlcmd.GetLogVerbosity(os.Args))
	command := kubectlcmd.NewDefaultKubectlCommand()
	if err := cli.RunNoErrOutput(command); err != nil {
		kubectlutil.CheckErr(err)
	}
}

// kwokStages are the stages kwok runs unless --config/-c is given: the same
// set as kwok's kustomize/stage/fast (node-fast, node-heartbeat-with-lease,
// pod-fast), taken from the kwok module's own embedded copies.
func kwokStages() string {
	return strings.Join([]string{
		nodefast.DefaultNodeInit,
		nodeheartbeat.DefaultNodeHeartbeatWithLease,
		podfast.DefaultPodReady,
		podfast.DefaultPodComplete,
		podfast.DefaultPodDelete,
	}, "\n---\n")
}

func hasConfigFlag(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if a == "-c" || a == "--config" || strings.HasPrefix(a, "--config=") || strings.HasPrefix(a, "-c=") {
			return true
		}
	}
	return false
}

// runKwok mirrors sigs.k8s.io/kwok/cmd/kwok's main.
func runKwok() int {
	if !hasConfigFlag(os.Args[1:]) {
		// kwok only reads its configuration from files; hand it the
		// embedded stages through a temporary one, removed once loaded.
		f, err := os.CreateTemp("", "weir-kwok-stages-*.yaml")
		if err != nil {
			fmt.Fprintf(os.Stderr, "kwok: create stage file: %v\n", err)
			return 1
		}
		path := f.Name()
		defer os.Remove(path)
		if _, err := f.WriteString(kwokStages()); err != nil {
			_ = f.Close()
			fmt.Fprintf(os.Stderr, "kwok: write stage file: %v\n", err)
			return 1
		}
		if err := f.Close(); err != nil {
			fmt.Fprintf(os.Stderr, "kwok: close stage file: %v\n", err)
			return 1
		}
		os.Args = append(os.Args, "--config="+path)
	}

	flagset := pflag.NewFlagSet("global", pflag.ContinueOnError)
	flagset.ParseErrorsAllowlist.UnknownFlags = true
	flagset.Usage = func() {}

	ctx := kwoksignals.SetupSignalContext()
	ctx, logger := kwoklog.InitFlags(ctx, flagset)

	ctx, err := kwokconfig.InitFlags(ctx, flagset)
	if err != nil {
		_, _ = os.Stderr.Write([]byte(flagset.FlagUsages()))
		logger.Error("Init config flags", "err", err)
		return 1
	}

	command := kwokcmd.NewCommand(ctx)
	// Kubernetes' verflag registers a non-bool --version on pflag.CommandLine,
	// which cobra merges into every command; cobra's own bool --version (set up
	// when Version is non-empty) would then fail every run.
	command.Version = ""
	command.PersistentFlags().AddFlagSet(flagset)
	if err := command.ExecuteContext(ctx); err != nil {
		logger.Error("Execute exit", "err", err)
		return 1
	}
	return 0
}
