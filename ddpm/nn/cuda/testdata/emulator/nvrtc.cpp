// libnvrtc.so.13 stand-in: see README.md.
#include <cstring>

static const char image[] = "emulated";

extern "C" {
int nvrtcVersion(int* major, int* minor) { *major = 13; *minor = 0; return 0; }
const char* nvrtcGetErrorString(int) { return "NVRTC_ERROR_EMULATED"; }
int nvrtcCreateProgram(void** prog, const char*, const char*, int, const char* const*, const char* const*) {
	*prog = (void*)image;
	return 0;
}
int nvrtcCompileProgram(void*, int, const char* const*) { return 0; }
int nvrtcGetProgramLogSize(void*, size_t* n) { *n = 1; return 0; }
int nvrtcGetProgramLog(void*, char* log) { *log = 0; return 0; }
int nvrtcGetPTXSize(void*, size_t* n) { *n = sizeof image; return 0; }
int nvrtcGetPTX(void*, char* out) { memcpy(out, image, sizeof image); return 0; }
int nvrtcGetCUBINSize(void*, size_t* n) { *n = sizeof image; return 0; }
int nvrtcGetCUBIN(void*, char* out) { memcpy(out, image, sizeof image); return 0; }
int nvrtcDestroyProgram(void**) { return 0; }
}
