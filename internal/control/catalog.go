package control

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
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

// Catalog returns the compliance mapping, parsed from the embedded data.
func Catalog() ([]Framework, error) {
	var doc struct {
		Frameworks []Framework `json:"frameworks"`
	}
	if err := json.Unmarshal(complianceJSON, &doc); err != nil {
		return nil, fmt.Errorf("embedded compliance catalog: %w", err)
	}
	return doc.Frameworks, nil
}

// CatalogFor returns the compliance mapping of a control other than the
// notebook one (whose mapping is Catalog), from the embedded data's
// "controls" section.
func CatalogFor(controlID string) ([]Framework, error) {
	var doc struct {
		Controls map[string]struct {
			Frameworks []Framework `json:"frameworks"`
		} `json:"controls"`
	}
	if err := json.Unmarshal(complianceJSON, &doc); err != nil {
		return nil, fmt.Errorf("embedded compliance catalog: %w", err)
	}
	c, ok := doc.Controls[controlID]
	if !ok {
		return nil, fmt.Errorf("embedded compliance catalog: no mapping for control %s", controlID)
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
