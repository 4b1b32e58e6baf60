package unexported

import (
	"errors"
	"fmt"
	"reflect"
	"unsafe"
)

// Field returns the field name of the struct v, readable and settable even
// though unexported.
func Field(v reflect.Value, name string) (reflect.Value, error) {
	if v.Kind() != reflect.Struct {
		return reflect.Value{}, fmt.Errorf("%s is not a struct", v.Type())
	}
	f := v.FieldByName(name)
	if !f.IsValid() {
		return reflect.Value{}, fmt.Errorf("%s has no field %q", v.Type(), name)
	}
	return reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem(), nil
}

// PluginAPI returns the settable PJRT API table pointer (go-xla's
// Plugin.api, a *C.PJRT_Api) and the *pjrt.Plugin behind backend, a GoMLX
// *xla.Backend; ok is false for any other backend.
func PluginAPI(backend any) (api, plugin reflect.Value, ok bool, err error) {
	v := reflect.ValueOf(backend)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Type().String() != "xla.Backend" {
		return api, plugin, false, nil
	}
	if plugin, err = Field(v.Elem(), "plugin"); err != nil {
		return api, plugin, false, err
	}
	if plugin.Kind() != reflect.Pointer || plugin.IsNil() {
		return api, plugin, false, errors.New("the backend has no plugin")
	}
	if api, err = Field(plugin.Elem(), "api"); err != nil {
		return api, plugin, false, err
	}
	if api.Kind() != reflect.Pointer || api.IsNil() {
		return api, plugin, false, errors.New("the plugin has no API table")
	}
	return api, plugin, true, nil
}

// APIOffsets returns the offsets of the function-pointer members names of
// the PJRT_Api struct that apiType (go-xla's *C.PJRT_Api) points to, and the
// struct's size.
func APIOffsets(apiType reflect.Type, names ...string) (offs []uintptr, size uintptr, err error) {
	if apiType.Kind() != reflect.Pointer || apiType.Elem().Kind() != reflect.Struct {
		return nil, 0, fmt.Errorf("the plugin's API is a %s, not a pointer to a struct", apiType)
	}
	st := apiType.Elem()
	first := st.Field(0)
	if first.Offset != 0 || first.Type.Size() != unsafe.Sizeof(uintptr(0)) {
		return nil, 0, fmt.Errorf("%s does not open with its struct_size", st)
	}
	for _, name := range names {
		f, ok := st.FieldByName(name)
		if !ok || f.Type.Kind() != reflect.Pointer || f.Offset == 0 {
			return nil, 0, fmt.Errorf("%s has no %s function pointer", st, name)
		}
		offs = append(offs, f.Offset)
	}
	return offs, st.Size(), nil
}
