package templates

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
