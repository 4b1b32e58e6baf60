// The PJRT C API argument structs this package fills in, declared by their
// layout in PJRT's C API (pjrt_c_api.h, version 0.x): each opens with its
// own size and an extension pointer, then the fields in this order.

#ifndef SDGO_XLACACHE_H
#define SDGO_XLACACHE_H

#include <stddef.h>

typedef struct {
	size_t struct_size;
	void *extension_start;
	char *code;
	size_t code_size;
	const char *format;
	size_t format_size;
} sdgo_program;

typedef struct {
	size_t struct_size;
	void *extension_start;
	void *client;
	const sdgo_program *program;
	const char *compile_options;
	size_t compile_options_size;
	void *executable; // out: the PJRT_LoadedExecutable
} sdgo_compile_args;

// Entries of the PJRT_Api table this package uses, in the order of the
// offsets sdgo_cache_install takes.
enum {
	SDGO_COMPILE,
	SDGO_GET_EXECUTABLE,
	SDGO_SERIALIZE,
	SDGO_DESERIALIZE,
	SDGO_EXECUTABLE_DESTROY,
	SDGO_ERROR_MESSAGE,
	SDGO_ERROR_DESTROY,
	SDGO_ENTRIES
};

void *sdgo_cache_install(void *api, size_t size, const size_t *offs);
void *sdgo_cache_real_compile(void *args);
void *sdgo_cache_serialize(void *loaded, void **bytes, size_t *n, void **handle, void **deleter);
void sdgo_cache_free_serialized(void *handle, void *deleter);
void *sdgo_cache_deserialize(void *client, const void *bytes, size_t n, void **loaded);
size_t sdgo_cache_error_message(void *err, const char **msg);
void sdgo_cache_error_destroy(void *err);
void *sdgo_cache_call_compile(void *table, size_t off, void *args);

void *sdgo_fake_api(void);
int sdgo_fake_count(int which);
void *sdgo_fake_loaded_code(void *loaded, size_t *n);
void sdgo_fake_free_loaded(void *loaded);

#endif
