package review

import (
	"bytes"
	"embed"
	htmltemplate "html/template"
	"regexp"
	"strings"
	"text/template"
)

//go:embed templates
var templates embed.FS

var (
	markdownTemplate = template.Must(template.New("review.md.tmpl").Funcs(template.FuncMap{"md": mdText, "cell": mdCell}).
				ParseFS(templates, "templates/review.md.tmpl"))
	htmlTemplate = htmltemplate.Must(htmltemplate.ParseFS(templates, "templates/review.html.tmpl"))
)

// mdEscaper backslash-escapes what Markdown gives meaning to inside a line.
var mdEscaper = strings.NewReplacer(`\`, `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`, "<", `\<`, ">", `\>`, "#", `\#`)

// mdText makes text from alerts and people inert in Markdown, on one line.
func mdText(s string) string {
	return mdEscaper.Replace(strings.Join(strings.Fields(s), " "))
}

// mdCell is mdText for a table cell, where "|" ends the cell.
func mdCell(s string) string { return strings.ReplaceAll(mdText(s), "|", `\|`) }

// blankLines are runs of empty lines, which the Markdown template leaves
// around optional sections.
var blankLines = regexp.MustCompile(`\n{3,}`)

// Markdown renders the review as Markdown.
func (r *Review) Markdown() ([]byte, error) {
	var b bytes.Buffer
	if err := markdownTemplate.Execute(&b, r); err != nil {
		return nil, err
	}
	return blankLines.ReplaceAll(b.Bytes(), []byte("\n\n")), nil
}

// HTML renders the review as a standalone HTML page, styles inline.
func (r *Review) HTML() ([]byte, error) {
	var b bytes.Buffer
	if err := htmlTemplate.Execute(&b, r); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
