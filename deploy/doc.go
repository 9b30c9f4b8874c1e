// Package deploy holds deployment material (IAM policies, Kubernetes
// manifests, the Helm chart); its tests keep that material in step with the
// code.
package deploy
