package main

import "context"

// signalContext is what upstream kubelet's main passes: kubelet installs its
// own signal handling.
func signalContext() context.Context { return context.Background() }
