// Package deploy holds deployment material (IAM policies, Kubernetes
// manifests); its tests keep that material in step with the code.
package deploy
