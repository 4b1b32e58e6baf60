#include <stdlib.h>
#include <string.h>

#include "xlacache.h"
#include "_cgo_export.h"

typedef void *(*sdgo_fn)(void *);
typedef void (*sdgo_void_fn)(void *);

// The plugin's entries, read from the table sdgo_cache_install copied.
static sdgo_fn plugin[SDGO_ENTRIES];

// sdgo_cache_compile is the table's PJRT_Client_Compile: Go decides
// whether the executable comes from the cache or the plugin's compiler.
static void *sdgo_cache_compile(void *args) { return sdgoCacheCompile(args); }

// sdgo_cache_install copies the API table api (its own struct_size bytes, in
// a block of at least size, zeroed beyond) with the compile entry replaced,
// and keeps the plugin's entries at offs; NULL when the table is too short
// to have them all or memory is short.
void *sdgo_cache_install(void *api, size_t size, const size_t *offs) {
	size_t own = *(size_t *)api;
	for (int i = 0; i < SDGO_ENTRIES; i++) {
		if (offs[i] + sizeof(sdgo_fn) > own || *(sdgo_fn *)((char *)api + offs[i]) == NULL) {
			return NULL;
		}
	}
	void *table = calloc(1, own > size ? own : size);
	if (table == NULL) {
		return NULL;
	}
	memcpy(table, api, own);
	for (int i = 0; i < SDGO_ENTRIES; i++) {
		plugin[i] = *(sdgo_fn *)((char *)api + offs[i]);
	}
	*(sdgo_fn *)((char *)table + offs[SDGO_COMPILE]) = sdgo_cache_compile;
	return table;
}

void *sdgo_cache_real_compile(void *args) { return plugin[SDGO_COMPILE](args); }

typedef struct {
	size_t struct_size;
	void *extension_start;
	void *loaded_executable;
	void *executable; // out
} get_executable_args;

typedef struct {
	size_t struct_size;
	void *extension_start;
	void *executable;
} executable_destroy_args;

typedef struct {
	size_t struct_size;
	void *extension_start;
	const void *executable;
	const char *serialized_bytes;  // out
	size_t serialized_bytes_size;  // out
	void *serialized_executable;   // out
	void (*deleter)(void *);       // out
} serialize_args;

typedef struct {
	size_t struct_size;
	void *extension_start;
	void *client;
	const char *serialized_executable;
	size_t serialized_executable_size;
	void *loaded_executable; // out
	const char *overridden_compile_options;
	size_t overridden_compile_options_size;
} deserialize_args;

typedef struct {
	size_t struct_size;
	void *extension_start;
	const void *error;
	const char *message; // out
	size_t message_size; // out
} error_message_args;

typedef struct {
	size_t struct_size;
	void *extension_start;
	void *error;
} error_destroy_args;

// sdgo_cache_serialize serializes the compiled program behind loaded: the
// bytes stay valid until sdgo_cache_free_serialized(handle, deleter).
void *sdgo_cache_serialize(void *loaded, void **bytes, size_t *n, void **handle, void **deleter) {
	get_executable_args g = {sizeof(g), NULL, loaded, NULL};
	void *err = plugin[SDGO_GET_EXECUTABLE](&g);
	if (err != NULL) {
		return err;
	}
	serialize_args s = {sizeof(s), NULL, g.executable, NULL, 0, NULL, NULL};
	err = plugin[SDGO_SERIALIZE](&s);
	executable_destroy_args d = {sizeof(d), NULL, g.executable};
	void *derr = plugin[SDGO_EXECUTABLE_DESTROY](&d);
	if (err != NULL) {
		if (derr != NULL) {
			sdgo_cache_error_destroy(derr);
		}
		return err;
	}
	*bytes = (void *)s.serialized_bytes;
	*n = s.serialized_bytes_size;
	*handle = s.serialized_executable;
	*deleter = (void *)s.deleter;
	return derr;
}

void sdgo_cache_free_serialized(void *handle, void *deleter) {
	if (deleter != NULL) {
		((void (*)(void *))deleter)(handle);
	}
}

void *sdgo_cache_deserialize(void *client, const void *bytes, size_t n, void **loaded) {
	deserialize_args a = {sizeof(a), NULL, client, bytes, n, NULL, NULL, 0};
	void *err = plugin[SDGO_DESERIALIZE](&a);
	*loaded = a.loaded_executable;
	return err;
}

size_t sdgo_cache_error_message(void *err, const char **msg) {
	error_message_args a = {sizeof(a), NULL, err, NULL, 0};
	((sdgo_void_fn)plugin[SDGO_ERROR_MESSAGE])(&a);
	*msg = a.message;
	return a.message_size;
}

void sdgo_cache_error_destroy(void *err) {
	error_destroy_args a = {sizeof(a), NULL, err};
	((sdgo_void_fn)plugin[SDGO_ERROR_DESTROY])(&a);
}

void *sdgo_cache_call_compile(void *table, size_t off, void *args) {
	return (*(sdgo_fn *)((char *)table + off))(args);
}

// A fake plugin for the tests (test files cannot use cgo). Its compiler
// "compiles" a program into a loaded executable holding a copy of the
// code (a program starting "bad" does not compile); serializing gives
// "exe:" and the code (one starting "noser" cannot); deserializing accepts only
// bytes that start with "exe:"; errors are static strings. The counts are
// by entry.

typedef struct {
	size_t n;
	char code[];
} fake_loaded;

static int fake_counts[SDGO_ENTRIES];
static const char fake_bad[] = "fake: not a serialized executable";

static fake_loaded *fake_new(const char *code, size_t n) {
	fake_loaded *l = malloc(sizeof(fake_loaded) + n);
	l->n = n;
	memcpy(l->code, code, n);
	return l;
}

static void *fake_compile(void *p) {
	sdgo_compile_args *a = p;
	fake_counts[SDGO_COMPILE]++;
	if (a->program->code_size >= 3 && memcmp(a->program->code, "bad", 3) == 0) {
		return (void *)"fake: the program does not compile";
	}
	a->executable = fake_new(a->program->code, a->program->code_size);
	return NULL;
}

static void *fake_get_executable(void *p) {
	get_executable_args *a = p;
	fake_counts[SDGO_GET_EXECUTABLE]++;
	a->executable = a->loaded_executable;
	return NULL;
}

static void fake_delete(void *h) { free(h); }

static void *fake_serialize(void *p) {
	serialize_args *a = p;
	const fake_loaded *l = a->executable;
	fake_counts[SDGO_SERIALIZE]++;
	if (l->n >= 5 && memcmp(l->code, "noser", 5) == 0) {
		return (void *)"fake: this executable cannot be serialized";
	}
	char *b = malloc(4 + l->n);
	memcpy(b, "exe:", 4);
	memcpy(b + 4, l->code, l->n);
	a->serialized_bytes = b;
	a->serialized_bytes_size = 4 + l->n;
	a->serialized_executable = b;
	a->deleter = fake_delete;
	return NULL;
}

static void *fake_deserialize(void *p) {
	deserialize_args *a = p;
	fake_counts[SDGO_DESERIALIZE]++;
	if (a->serialized_executable_size < 4 || memcmp(a->serialized_executable, "exe:", 4) != 0) {
		return (void *)fake_bad;
	}
	a->loaded_executable = fake_new(a->serialized_executable + 4, a->serialized_executable_size - 4);
	return NULL;
}

static void *fake_executable_destroy(void *p) {
	fake_counts[SDGO_EXECUTABLE_DESTROY]++;
	return NULL;
}

static void *fake_error_message(void *p) {
	error_message_args *a = p;
	fake_counts[SDGO_ERROR_MESSAGE]++;
	a->message = a->error;
	a->message_size = strlen(a->error);
	return NULL;
}

static void *fake_error_destroy(void *p) {
	fake_counts[SDGO_ERROR_DESTROY]++;
	return NULL;
}

// The fake table: its struct_size, one unused entry, then the entries in
// enum order.
static void *fake_table[2 + SDGO_ENTRIES];

void *sdgo_fake_api(void) {
	fake_table[0] = (void *)sizeof(fake_table);
	sdgo_fn fns[SDGO_ENTRIES] = {fake_compile, fake_get_executable, fake_serialize, fake_deserialize,
		fake_executable_destroy, fake_error_message, fake_error_destroy};
	for (int i = 0; i < SDGO_ENTRIES; i++) {
		fake_table[2 + i] = (void *)fns[i];
	}
	return fake_table;
}

int sdgo_fake_count(int which) { return fake_counts[which]; }

void *sdgo_fake_loaded_code(void *loaded, size_t *n) {
	fake_loaded *l = loaded;
	*n = l->n;
	return l->code;
}

void sdgo_fake_free_loaded(void *loaded) { free(loaded); }
