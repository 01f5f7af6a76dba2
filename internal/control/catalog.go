package control

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/sagefence/sagefence/internal/finding"
)

//go:embed compliance.json
var complianceJSON []byte

// Framework is one compliance framework the control maps to, with the
// source of the mapping.
type Framework struct {
	Key    string   `json:"key"`
	Name   string   `json:"name"`
	IDs    []string `json:"ids"`
	Source string   `json:"source"`
}

// catalogDoc is the embedded catalog: the notebook control's frameworks
// at the top level (the original shape), other controls under "controls"
// by control ID.
type catalogDoc struct {
	Frameworks []Framework `json:"frameworks"`
	Controls   map[string]struct {
		Frameworks []Framework `json:"frameworks"`
	} `json:"controls"`
}

func parseCatalog() (catalogDoc, error) {
	var doc catalogDoc
	if err := json.Unmarshal(complianceJSON, &doc); err != nil {
		return doc, fmt.Errorf("embedded compliance catalog: %w", err)
	}
	return doc, nil
}

// Catalog returns the compliance mapping of the notebook control
// (sagemaker-notebook-no-direct-internet-access), parsed from the
// embedded data.
func Catalog() ([]Framework, error) {
	doc, err := parseCatalog()
	if err != nil {
		return nil, err
	}
	return doc.Frameworks, nil
}

// CatalogFor returns the compliance mapping of the control with the given
// ID. A control the catalog does not know is an error, so that a result
// never silently carries no mapping.
func CatalogFor(controlID string) ([]Framework, error) {
	doc, err := parseCatalog()
	if err != nil {
		return nil, err
	}
	if controlID == finding.ControlID {
		return doc.Frameworks, nil
	}
	c, ok := doc.Controls[controlID]
	if !ok {
		return nil, fmt.Errorf("compliance catalog has no control %q", controlID)
	}
	return c.Frameworks, nil
}

// complianceMap is the catalog as the map every result carries.
func complianceMap(fw []Framework) map[string][]string {
	m := make(map[string][]string, len(fw))
	for _, f := range fw {
		m[f.Key] = slices.Clone(f.IDs)
	}
	return m
}
