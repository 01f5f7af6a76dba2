package testenv

import (
	"bytes"
	"encoding/xml"
	"errors"
	"html"
	"io"
	"net/url"
	"slices"
	"strconv"
)

// MotoTransitGatewayFixes returns proxy rules that correct moto 5.2's
// transit gateway answers from what the builders recorded in l, each a
// narrow rewrite of one action's answer (MOTO-NOTES.md):
//
//   - SearchTransitGatewayRoutes: moto serializes a static route's target
//     attachment as an empty transitGatewayAttachments; the fix fills it in
//     from l. moto also fails the call with HTTP 500 when MaxResults is
//     set (it slices a dict); the fix removes MaxResults from the request
//     and applies it to the answer, setting additionalRoutesAvailable as
//     AWS does.
//   - DescribeTransitGatewayAttachments: moto reports every attachment as
//     associated with the transit gateway's default route table, whatever
//     it was associated with since; the fix reports the table recorded in l.
//   - GetTransitGatewayRouteTableAssociations: moto keeps listing an
//     attachment under the default table after its association with
//     another; the fix drops it there.
//
// Add fault rules to the proxy before these: the first rule that fires
// decides a call, so a fix added first would shadow a fault on the same
// action. The proxy counts each fixed call as injected.
func MotoTransitGatewayFixes(l *TransitGatewayLedger) []Rule {
	return []Rule{
		{Op: "ec2:SearchTransitGatewayRoutes", Fault: Fault{Rewrite: withoutParam("MaxResults"), RewriteResponse: l.fixRouteSearch}},
		{Op: "ec2:DescribeTransitGatewayAttachments", Fault: Fault{RewriteResponse: l.fixAttachmentAssociations}},
		{Op: "ec2:GetTransitGatewayRouteTableAssociations", Fault: Fault{RewriteResponse: l.fixTableAssociations}},
	}
}

// withoutParam returns a request rewrite that drops the query-protocol
// parameter name.
func withoutParam(name string) func(Call) []byte {
	return func(c Call) []byte {
		form, err := url.ParseQuery(string(c.Body))
		if err != nil {
			return c.Body
		}
		form.Del(name)
		return []byte(form.Encode())
	}
}

// fixRouteSearch fills in static routes' target attachments and applies
// the request's MaxResults.
func (l *TransitGatewayLedger) fixRouteSearch(c Call, status int, body []byte) []byte {
	root, err := parseXMLSpans(body)
	if status != 200 || err != nil {
		return body
	}
	table := c.Params["TransitGatewayRouteTableId"]
	routes := root.child("routeSet").children("item")
	var edits []xmlEdit
	if limit, err := strconv.Atoi(c.Params["MaxResults"]); err == nil && limit > 0 && len(routes) > limit {
		for _, r := range routes[limit:] {
			edits = append(edits, xmlEdit{r.start, r.end, ""})
		}
		routes = routes[:limit]
		if more := root.child("additionalRoutesAvailable"); more != nil {
			edits = append(edits, xmlEdit{more.start, more.end, "<additionalRoutesAvailable>true</additionalRoutesAvailable>"})
		}
	}
	for _, r := range routes {
		dest := r.child("destinationCidrBlock")
		if dest == nil || r.childText("state") != "active" || r.childText("type") != "static" {
			continue
		}
		t, ok := l.RouteTarget(table, dest.text)
		targets := r.child("transitGatewayAttachments")
		if !ok || (targets != nil && len(targets.children("item")) > 0) {
			continue
		}
		fill := "<transitGatewayAttachments><item>" +
			xmlElement("resourceId", t.ResourceID) + xmlElement("resourceType", t.ResourceType) +
			xmlElement("transitGatewayAttachmentId", t.AttachmentID) + "</item></transitGatewayAttachments>"
		if targets != nil {
			edits = append(edits, xmlEdit{targets.start, targets.end, fill})
		} else {
			edits = append(edits, xmlEdit{dest.end, dest.end, fill})
		}
	}
	return applyEdits(body, edits)
}

// fixAttachmentAssociations reports each attachment's recorded association.
func (l *TransitGatewayLedger) fixAttachmentAssociations(_ Call, status int, body []byte) []byte {
	root, err := parseXMLSpans(body)
	if status != 200 || err != nil {
		return body
	}
	var edits []xmlEdit
	for _, a := range root.child("transitGatewayAttachments").children("item") {
		id := a.child("transitGatewayAttachmentId")
		if id == nil {
			continue
		}
		table, ok := l.Association(id.text)
		if !ok {
			continue
		}
		fix := "<association>" + xmlElement("transitGatewayRouteTableId", table) + xmlElement("state", "associated") + "</association>"
		switch cur := a.child("association"); {
		case cur != nil:
			edits = append(edits, xmlEdit{cur.start, cur.end, fix})
		case a.childText("state") == "available":
			edits = append(edits, xmlEdit{id.end, id.end, fix})
		}
	}
	return applyEdits(body, edits)
}

// fixTableAssociations drops the attachments recorded as associated with
// another table from a table's associations.
func (l *TransitGatewayLedger) fixTableAssociations(c Call, status int, body []byte) []byte {
	root, err := parseXMLSpans(body)
	if status != 200 || err != nil {
		return body
	}
	table := c.Params["TransitGatewayRouteTableId"]
	var edits []xmlEdit
	for _, a := range root.child("associations").children("item") {
		if rt, ok := l.Association(a.childText("transitGatewayAttachmentId")); ok && rt != table {
			edits = append(edits, xmlEdit{a.start, a.end, ""})
		}
	}
	return applyEdits(body, edits)
}

// xmlElem is one element of an XML document and the bytes it spans, so
// that a fix can replace one element and leave the rest of moto's answer
// byte for byte as it was.
type xmlElem struct {
	name       string
	start, end int    // the element, tags included: body[start:end]
	text       string // its own character data, unescaped
	kids       []*xmlElem
}

// parseXMLSpans parses body into elements with their byte spans.
func parseXMLSpans(body []byte) (*xmlElem, error) {
	d := xml.NewDecoder(bytes.NewReader(body))
	var root *xmlElem
	var stack []*xmlElem
	for {
		off := int(d.InputOffset())
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			e := &xmlElem{name: t.Name.Local, start: off}
			if n := len(stack); n > 0 {
				stack[n-1].kids = append(stack[n-1].kids, e)
			} else if root == nil {
				root = e
			}
			stack = append(stack, e)
		case xml.EndElement:
			stack[len(stack)-1].end = int(d.InputOffset())
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if n := len(stack); n > 0 {
				stack[n-1].text += string(t)
			}
		}
	}
	if root == nil {
		return nil, errors.New("no XML element")
	}
	return root, nil
}

// child returns e's first child element named name, or nil.
func (e *xmlElem) child(name string) *xmlElem {
	if e == nil {
		return nil
	}
	for _, k := range e.kids {
		if k.name == name {
			return k
		}
	}
	return nil
}

// children returns e's child elements named name.
func (e *xmlElem) children(name string) []*xmlElem {
	if e == nil {
		return nil
	}
	var out []*xmlElem
	for _, k := range e.kids {
		if k.name == name {
			out = append(out, k)
		}
	}
	return out
}

// childText returns the text of e's child element name, or "".
func (e *xmlElem) childText(name string) string {
	if k := e.child(name); k != nil {
		return k.text
	}
	return ""
}

// xmlEdit replaces body[start:end] with text.
type xmlEdit struct {
	start, end int
	text       string
}

// applyEdits applies non-overlapping edits to a copy of body.
func applyEdits(body []byte, edits []xmlEdit) []byte {
	if len(edits) == 0 {
		return body
	}
	slices.SortFunc(edits, func(a, b xmlEdit) int { return b.start - a.start })
	out := slices.Clone(body)
	for _, e := range edits {
		out = slices.Concat(out[:e.start], []byte(e.text), out[e.end:])
	}
	return out
}

func xmlElement(name, text string) string {
	return "<" + name + ">" + html.EscapeString(text) + "</" + name + ">"
}
