// Command testdigits writes the test digits the web page starts from: the
// first -per-class digits of each class in MNIST's test set, at 32×32 as the
// network sees them (white ink on black), one row per class, so a tile's row
// is its label. ./build.sh writes web/digits.png with it. With -digit it
// writes one test digit alone, to start cmd/sample's -init from.
//
//	go run ./cmd/testdigits -out web/digits.png
//	go run ./cmd/testdigits -digit 3 -out digit.png
package main

import (
	"flag"
	"fmt"
	"image"
	"os"

	"github.com/ddpm-go/ddpm/ddpm/mnist"
	"github.com/ddpm-go/ddpm/ddpm/picture"
	"github.com/ddpm-go/ddpm/internal/cli"
)

func main() {
	fs := flag.NewFlagSet("testdigits", flag.ContinueOnError)
	out := fs.String("out", "web/digits.png", "PNG to write")
	perClass := fs.Int("per-class", 30, "digits of each class (1..500)")
	digit := fs.Int("digit", -1, "write only the first test digit of this class (0..9), 32×32, instead of the sheet (to digit.png unless -out is given)")
	data := fs.String("data", "", "folder with the MNIST IDX files (default: the GoMNIST module in the Go module cache)")
	cli.Usage(fs, "go run ./cmd/testdigits [flags]",
		"Writes the web page's test digits: MNIST test digits at 32×32, one row per class.")
	cli.Parse(fs, os.Args[1:])
	if *digit >= 0 && !isSet(fs, "out") {
		*out = "digit.png" // never the page's sheet
	}
	cli.Exit("testdigits", run(*out, *data, *perClass, *digit))
}

func run(out, data string, perClass, digit int) error {
	if perClass < 1 || perClass > 500 {
		return fmt.Errorf("-per-class %d is outside 1..500", perClass)
	}
	if digit < -1 || digit > 9 {
		return fmt.Errorf("-digit %d is not a digit 0..9", digit)
	}
	dir, err := mnist.Dir(data)
	if err != nil {
		return err
	}
	set, err := mnist.Load(dir, mnist.Test, 32)
	if err != nil {
		return err
	}
	if digit >= 0 {
		perClass = 1
	}
	img, err := sheet(set, perClass)
	if err != nil {
		return err
	}
	what := fmt.Sprintf("%d digits of each class", perClass)
	if digit >= 0 { // row digit of a one-column sheet
		img = img.SubImage(image.Rect(0, digit*set.Size, set.Size, (digit+1)*set.Size)).(*image.Gray)
		what = fmt.Sprintf("the first test digit %d", digit)
	}
	if err := picture.SavePNG(out, img); err != nil {
		return err
	}
	fmt.Printf("wrote %s: %s, %d×%d\n", out, what, img.Bounds().Dx(), img.Bounds().Dy())
	return nil
}

// sheet lays out the first perClass digits of each class in set, row d
// holding the digits d in the order of the set.
func sheet(set *mnist.Set, perClass int) (*image.Gray, error) {
	px := set.Size * set.Size
	imgs := make([]float32, 10*perClass*px)
	count := make([]int, 10)
	for i, l := range set.Labels {
		if count[l] < perClass {
			copy(imgs[(l*perClass+count[l])*px:], set.Image(i))
			count[l]++
		}
	}
	for d, c := range count {
		if c < perClass {
			return nil, fmt.Errorf("the set has only %d digits %d", c, d)
		}
	}
	return picture.Grid(imgs, 10*perClass, set.Size, perClass, 0, 1), nil
}

func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
