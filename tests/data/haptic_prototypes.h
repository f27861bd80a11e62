/* The SDK prototypes Demo Station's ctypes backends declare, as the public headers write them.
 * Parsed by tests/test_haptic_prototypes.py; every argtypes/restype the backends set is checked
 * against the line here. Default arguments ("char ID = -1") are C++ sugar in the header and are
 * kept as written. Calling-convention macros (__SDK, HDAPI, HDAPIENTRY) are dropped.
 */

/* ---- Force Dimension DHD SDK: dhdc.h ("DHD - Haptic SDK ver 3.7.0-pre", (C) 2001-2016 Force
 *      Dimension), section "standard SDK" / "expert SDK" / "ERROR MANAGEMENT" ---- */
typedef unsigned char  uchar;
typedef unsigned int   uint;
const char* dhdErrorGetLastStr ();
int         dhdOpen ();
int         dhdClose (char ID = -1);
int         dhdEnableForce (uchar val, char ID = -1);
const char* dhdGetSystemName (char ID = -1);
uint        dhdGetButtonMask (char ID = -1);
bool        dhdHasActiveWrist (char ID = -1);
int         dhdGetPosition (double *px, double *py, double *pz, char ID = -1);
int         dhdSetForceAndTorque (double fx, double fy, double fz, double tx, double ty, double tz, char ID = -1);
int         dhdGetOrientationFrame (double matrix[3][3], char ID = -1);
int         dhdSetWatchdog (unsigned char val, char ID = -1);
/* Not in the 3.7.0 header (later SDKs): as bound by Force Dimension's forcedimension_core
 * (argtypes [c_byte], restype c_double), "retrieves the current limit (in N) to the force". */
double      dhdGetMaxForce (char ID = -1);

/* ---- Force Dimension DRD (robotic) SDK: drdc.h ("DRD - Robotic SDK ver 3.7.0-pre"), section "SDK" ---- */
bool   drdIsInitialized (char ID = -1);

/* ---- OpenHaptics HD API (SensAble / 3D Systems), HD/hdDefines.h typedefs ---- */
typedef unsigned int HDuint;
typedef unsigned int HDenum;
typedef unsigned int HDerror;
typedef unsigned int HHD;
typedef int HDint;
typedef double HDdouble;
typedef unsigned short HDushort;
typedef const char *HDstring;
/* HD/hdScheduler.h */
typedef unsigned long HDSchedulerHandle;
typedef HDCallbackCode (HDCALLBACK *HDSchedulerCallback)(void *pUserData);

/* HD/hdDevice.h ("Main API routines for low-level haptic device") */
HHD hdInitDevice(HDstring pConfigName);
void hdMakeCurrentDevice(HHD hHD);
void hdDisableDevice(HHD hHD);
void hdBeginFrame(HHD hHD);
void hdEndFrame(HHD hHD);
HDErrorInfo hdGetError();
HDstring hdGetErrorString(HDerror errorCode);
void hdEnable(HDenum cap);
void hdGetIntegerv(HDenum pname, HDint *params);
void hdGetDoublev(HDenum pname, HDdouble *params);
HDstring hdGetString(HDenum pname);
void hdSetDoublev(HDenum pname, const HDdouble *params);
HDenum hdCheckCalibration();

/* HD/hdScheduler.h ("Thread management utilities for cross thread synchronization") */
void hdStartScheduler();
void hdStopScheduler();
void hdScheduleSynchronous(HDSchedulerCallback pCallback, void *pUserData, HDushort nPriority);
HDSchedulerHandle hdScheduleAsynchronous(HDSchedulerCallback pCallback, void *pUserData, HDushort nPriority);
void hdUnschedule(HDSchedulerHandle hHandle);
