package kube

import (
	"fmt"
	"math/rand"
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
)

// The quantities' text must be what resource.Quantity writes.
func TestQuantitiesMatchAPIMachinery(t *testing.T) {
	var ns []int64
	for n := int64(0); n <= 5000; n++ {
		ns = append(ns, n)
	}
	for e := int64(1); e < 1e9; e *= 10 {
		ns = append(ns, e, 3*e, 1024*e, 1<<20*e)
	}
	for _, n := range ns {
		if got, want := milliCPU(n), resource.NewMilliQuantity(n, resource.DecimalSI).String(); got != want {
			t.Errorf("milliCPU(%d) = %q, resource.Quantity writes %q", n, got, want)
		}
		if n > 1<<40 {
			continue
		}
		if got, want := binaryQuantity(n), resource.MustParse(fmt.Sprintf("%dMi", n)); got != want.String() {
			t.Errorf("binaryQuantity(%d) = %q, resource.Quantity writes %q", n, got, want.String())
		}
	}
}

func TestPortNamesMatchValidation(t *testing.T) {
	names := []string{"", "-", "a", "1", "a-", "-a", "a--b", "a-b", "http", "grpc-web", "1a", "a1", "abcdefghijklmno", "abcdefghijklmnop", "UP", "a_b", "a.b"}
	r := rand.New(rand.NewSource(1))
	const alphabet = "az09-_A."
	for i := 0; i < 20000; i++ {
		b := make([]byte, r.Intn(18))
		for j := range b {
			b[j] = alphabet[r.Intn(len(alphabet))]
		}
		names = append(names, string(b))
	}
	for _, n := range names {
		if got, want := validPortName(n), len(validation.IsValidPortName(n)) == 0; got != want {
			t.Errorf("validPortName(%q) = %v, validation says %v", n, got, want)
		}
	}
}
