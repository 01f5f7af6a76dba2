package finding

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/go-json-experiment/json/jsontext"
)

// Commands are the AWS CLI commands that reproduce a verdict by hand, in the
// order to run them. In JSON they are an array of strings (null when there
// are none, as a nil []string would be).
//
// A scan's commands are rendered when they are read, from a template shared
// by the notebooks of one placement and the few arguments that are the
// notebook's own: a 100,000-notebook report would otherwise hold 100,000
// copies of nearly the same text for output formats that never print it.
// Commands read from a JSON report or built with CommandList hold the
// strings themselves. The zero value is no commands.
type Commands struct {
	list []string
	tmpl CommandTemplate
	args CommandArgs
}

// CommandArgs are what a template's commands take from one notebook.
type CommandArgs struct {
	Name               string
	Region             string
	NetworkInterfaceID string
}

// CommandTemplate renders the commands of one notebook from its arguments.
// Implementations must be immutable and give the same commands for the same
// arguments every time.
type CommandTemplate interface {
	AppendCommands(dst []string, args CommandArgs) []string
}

// CommandList returns commands that are exactly cmds (which the Commands
// keep; do not change them afterwards). CommandList() is no commands and
// encodes as null; CommandList([]string{}...) encodes as [].
func CommandList(cmds ...string) Commands { return Commands{list: cmds} }

// TemplateCommands returns the commands t renders for args.
func TemplateCommands(t CommandTemplate, args CommandArgs) Commands {
	return Commands{tmpl: t, args: args}
}

// Strings returns the commands. The slice may be shared: do not change it.
func (c Commands) Strings() []string {
	if c.tmpl != nil {
		return c.tmpl.AppendCommands(nil, c.args)
	}
	return c.list
}

// Equal reports whether c and o are the same commands, however each is
// held; go-cmp uses it to compare results.
func (c Commands) Equal(o Commands) bool {
	a, b := c.Strings(), o.Strings()
	return slices.Equal(a, b) && (a == nil) == (b == nil)
}

// MarshalJSON encodes the commands as a JSON array of strings, or null.
func (c Commands) MarshalJSON() ([]byte, error) {
	return json.Marshal(c.Strings())
}

// MarshalJSONTo is MarshalJSON for the streaming encoder of
// github.com/go-json-experiment/json, which the JSON report writer uses; it
// writes each command as it is rendered.
func (c Commands) MarshalJSONTo(enc *jsontext.Encoder) error {
	cmds := c.Strings()
	if cmds == nil {
		return enc.WriteToken(jsontext.Null)
	}
	if err := enc.WriteToken(jsontext.BeginArray); err != nil {
		return err
	}
	for _, s := range cmds {
		if err := enc.WriteToken(jsontext.String(s)); err != nil {
			return err
		}
	}
	return enc.WriteToken(jsontext.EndArray)
}

// UnmarshalJSON decodes a JSON array of strings, or null.
func (c *Commands) UnmarshalJSON(b []byte) error {
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return fmt.Errorf("reproduce commands: %w", err)
	}
	*c = Commands{list: list}
	return nil
}
