// Package tfplan reads a Terraform plan in its JSON form (terraform show
// -json PLANFILE) with hashicorp/terraform-json. A plan is the most exact
// static source: variables, modules and most functions are already
// evaluated. Resource changes decide (deletes are skipped, after_unknown is
// unknown); planned values are used when a plan has no resource changes.
package tfplan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	tfjson "github.com/hashicorp/terraform-json"

	"github.com/sagefence/sagefence/internal/iac/model"
)

// Detect reports whether data looks like a plan in JSON form.
func Detect(data []byte) bool {
	return bytes.Contains(data, []byte(`"format_version"`)) &&
		(bytes.Contains(data, []byte(`"planned_values"`)) || bytes.Contains(data, []byte(`"resource_changes"`)))
}

// Notebooks returns the notebook instances and Studio domains a plan
// creates, updates or keeps. An error means the file is not a readable plan.
func Notebooks(file string, data []byte) ([]model.Notebook, error) {
	var plan tfjson.Plan
	if err := json.Unmarshal(data, &plan); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, model.Error{File: file, Line: lineAt(data, int(se.Offset)-1), Msg: "not valid JSON: " + se.Error()}
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, model.Error{File: file, Line: lineAt(data, int(te.Offset)-1), Msg: "not a Terraform plan: " + te.Error()}
		}
		return nil, model.Error{File: file, Msg: "not a Terraform plan: " + err.Error()}
	}
	p := &planFile{file: file, data: data}
	if len(plan.ResourceChanges) > 0 {
		for _, rc := range plan.ResourceChanges {
			p.change(rc)
		}
		return p.out, nil
	}
	if plan.PlannedValues != nil && plan.PlannedValues.RootModule != nil {
		p.module(plan.PlannedValues.RootModule, 0)
	}
	return p.out, nil
}

type planFile struct {
	file string
	data []byte
	out  []model.Notebook
}

func isNotebook(mode tfjson.ResourceMode, typ string) bool {
	return mode == tfjson.ManagedResourceMode && model.IsTerraformType(typ)
}

// read fills the attributes the control reads for the resource's type.
func read(nb *model.Notebook, vals, unknown map[string]any, absentIsNull bool) {
	if model.IsDomain(nb.Type) {
		nb.AppNetworkAccessType = attr(vals, unknown, model.TerraformAppNetworkAccessType, absentIsNull)
	} else {
		nb.DirectInternetAccess = attr(vals, unknown, "direct_internet_access", absentIsNull)
		nb.SubnetID = attr(vals, unknown, "subnet_id", absentIsNull)
	}
	nb.Name, _ = vals[model.TerraformNameAttr(nb.Type)].(string)
}

func (p *planFile) change(rc *tfjson.ResourceChange) {
	if rc == nil || !isNotebook(rc.Mode, rc.Type) || rc.Change == nil {
		return
	}
	acts := rc.Change.Actions
	if acts.Delete() || acts.Forget() || acts.Read() {
		return // a notebook being destroyed or forgotten will not exist
	}
	after, _ := rc.Change.After.(map[string]any)
	unknown, _ := rc.Change.AfterUnknown.(map[string]any)
	nb := p.notebook(rc.Address, rc.Type)
	read(&nb, after, unknown, true)
	if acts.Replace() {
		if model.IsDomain(rc.Type) {
			nb.Notes = append(nb.Notes, "the plan replaces this domain: the existing one, its user profiles' apps and its EFS home volume go with it")
		} else {
			nb.Notes = append(nb.Notes, "the plan replaces this notebook: the existing one and its ML storage volume are deleted")
		}
	}
	p.out = append(p.out, nb)
}

func (p *planFile) module(m *tfjson.StateModule, depth int) {
	if m == nil || depth > 64 {
		return
	}
	for _, r := range m.Resources {
		if r == nil || !isNotebook(r.Mode, r.Type) {
			continue
		}
		nb := p.notebook(r.Address, r.Type)
		// Planned values omit what is unknown until apply: an absent
		// attribute is unknown here, not the provider default (which the
		// plan would show).
		read(&nb, r.AttributeValues, nil, false)
		p.out = append(p.out, nb)
	}
	for _, c := range m.ChildModules {
		p.module(c, depth+1)
	}
}

func (p *planFile) notebook(addr, typ string) model.Notebook {
	return model.Notebook{File: p.file, Line: p.line(addr), Kind: model.KindTerraformPlan, Type: typ, Address: addr}
}

// line finds where the plan first mentions the address.
func (p *planFile) line(addr string) int {
	q, _ := json.Marshal(addr)
	for _, pat := range [][]byte{append([]byte(`"address":`), q...), append([]byte(`"address": `), q...)} {
		if i := bytes.Index(p.data, pat); i >= 0 {
			return lineAt(p.data, i)
		}
	}
	return 1
}

func lineAt(data []byte, off int) int {
	if off < 0 {
		off = 0
	}
	if off > len(data) {
		off = len(data)
	}
	return bytes.Count(data[:off], []byte("\n")) + 1
}

// attr reads a planned attribute. absentIsNull says whether a missing key
// means null (resource changes) or unknown (planned values).
func attr(vals, unknown map[string]any, key string, absentIsNull bool) model.Value {
	if u, _ := unknown[key].(bool); u {
		return model.Unknown("(known after apply)", "after_unknown: known only after apply", true)
	}
	v, ok := vals[key]
	switch {
	case !ok && !absentIsNull:
		return model.Unknown("(not in planned values)", "planned values omit it: known only after apply", false)
	case !ok || v == nil:
		return model.Value{Expr: "null", Alts: []model.Alt{{Absent: true, Why: "null in the plan"}}}
	}
	switch t := v.(type) {
	case string:
		return model.Known(strconv.Quote(t), t, "planned value")
	case bool, float64, json.Number:
		s := fmt.Sprint(t)
		return model.Known(s, s, "planned value")
	}
	return model.Unknown(fmt.Sprintf("%T", v), "the planned value is not a string", false)
}
