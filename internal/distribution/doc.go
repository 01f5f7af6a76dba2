// Package distribution holds the tests of the files that ship sagefence
// and fit it into other tools: the Dockerfile (built with buildah and run),
// the GitHub Action and its example workflow (actionlint), the pre-commit
// hook (pre-commit try-repo), the GitLab CI template and the GoReleaser
// configuration. It has no code of its own.
package distribution
