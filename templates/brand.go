package templates

import htmltemplate "html/template"

// Brand is what the shared email partials (email/layout.html: "style",
// "masthead", "button", "address") are executed with: the site's name,
// logo and accent colour, so the digest, the confirmation and the welcome
// mail look like one publication.
type Brand struct {
	Title   string // site.title
	URL     string // the site's home page, absolute
	LogoURL string // absolute; "" shows the title instead
	Accent  string // CSS colour of links and buttons
	Address string // site.address, the footer's postal address
}

// Button is one bullet-proof button: a padded table cell around a link.
type Button struct {
	Label, URL, Accent string
	// Name is the link's accessible name when Label alone says too little
	// ("Read more" says which article): "" is Label.
	Name string
}

// Button returns the arguments of the "button" partial in b's colours.
func (b Brand) Button(label, url, name string) Button {
	return Button{Label: label, URL: url, Accent: b.Accent, Name: name}
}

// MSOOpen and MSOClose wrap a fluid column in a fixed 600 px table that
// only Outlook for Windows (which ignores max-width) sees.
const (
	MSOOpen  = `<!--[if mso]><table role="presentation" align="center" width="600" cellpadding="0" cellspacing="0" border="0"><tr><td><![endif]-->`
	MSOClose = `<!--[if mso]></td></tr></table><![endif]-->`
)

// MSOOpenHTML and MSOCloseHTML give templates the conditional comments,
// which html/template would otherwise strip as comments.
func (Brand) MSOOpenHTML() htmltemplate.HTML  { return htmltemplate.HTML(MSOOpen) }
func (Brand) MSOCloseHTML() htmltemplate.HTML { return htmltemplate.HTML(MSOClose) }
