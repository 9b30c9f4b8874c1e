// Package deploy holds deployment material (IAM policies, the CloudFormation
// templates for the reader role and the agent's side, Kubernetes manifests,
// the Helm chart); its tests keep that material in step with the code. The
// templates are checked against AWS's CloudFormation resource specification
// (@aws-cdk/cfnspec, pinned in .ci/deps and installed into .cache/cfnspec;
// EXHIBIT_CFNSPEC names another copy of its spec/specification.json).
package deploy
