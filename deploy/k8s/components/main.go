// Command kube runs one Kubernetes v1.34 component, chosen by the name it is
// called by (argv[0]): kube-apiserver, kube-controller-manager, kube-scheduler,
// kubelet, kube-proxy or kubectl. One binary instead of six because the six
// share almost all their code: one link instead of six, and one cold build.
//
// It exists because k8s.io/kubernetes cannot be `go install`ed (its go.mod
// replaces its 31 staging modules with local paths); this module requires it
// and points each staging module at its published k8s.io/<name> v0.34.x.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	_ "time/tzdata" // CronJob time zones, as the upstream kube-controller-manager does

	"github.com/spf13/cobra"
	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	kubectl "k8s.io/kubectl/pkg/cmd"
	kubectlutil "k8s.io/kubectl/pkg/cmd/util"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	proxy "k8s.io/kubernetes/cmd/kube-proxy/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
	kubelet "k8s.io/kubernetes/cmd/kubelet/app"
)

func main() {
	name := filepath.Base(os.Args[0])
	var command *cobra.Command
	switch name {
	case "kube-apiserver":
		command = apiserver.NewAPIServerCommand()
	case "kube-controller-manager":
		command = controllermanager.NewControllerManagerCommand()
	case "kube-scheduler":
		command = scheduler.NewSchedulerCommand()
	case "kubelet":
		command = kubelet.NewKubeletCommand(signalContext())
	case "kube-proxy":
		command = proxy.NewProxyCommand()
	case "kubectl":
		command = kubectl.NewDefaultKubectlCommand()
		if err := cli.RunNoErrOutput(command); err != nil {
			kubectlutil.CheckErr(err)
		}
		return
	default:
		fmt.Fprintf(os.Stderr, "%s: call this binary as kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kube-proxy or kubectl (a symlink of that name)\n", name)
		os.Exit(2)
	}
	os.Exit(cli.Run(command))
}
