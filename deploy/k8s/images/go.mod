// The test cluster's own small images: the sandbox (pause) image and a
// stand-in for the example platform's services. Standard library only, so
// they build offline in seconds.
module topicform.dev/k8s-images

go 1.24.0
