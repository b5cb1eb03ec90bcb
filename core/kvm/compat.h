#pragma once
// Constants the running kernel knows but Debian 12's 6.1 UAPI headers (<linux/kvm.h>) lack.
// Each is defined only when the system header does not, with the value from the KVM API doc.
#include <linux/kvm.h>

// Documentation/virt/kvm/devices/vfio.rst: the group was renamed KVM_DEV_VFIO_FILE in 6.5 and
// keeps number 1; ADD/DEL take a VFIO file (group or device cdev) descriptor.
#ifndef KVM_DEV_VFIO_FILE
#define KVM_DEV_VFIO_FILE 1
#define KVM_DEV_VFIO_FILE_ADD 1
#define KVM_DEV_VFIO_FILE_DEL 2
#endif

// Documentation/virt/kvm/api.rst 4.x "KVM_GET_DEVICE_ATTR (system)": x86 system attributes.
#ifndef KVM_X86_GRP_SYSTEM
#define KVM_X86_GRP_SYSTEM 0
#endif
#ifndef KVM_X86_XCOMP_GUEST_SUPP
#define KVM_X86_XCOMP_GUEST_SUPP 0
#endif

// Documentation/virt/kvm/devices/vcpu.rst "3. GROUP: KVM_VCPU_TSC_CTRL" (x86, since 5.16).
#ifndef KVM_VCPU_TSC_CTRL
#define KVM_VCPU_TSC_CTRL 0
#define KVM_VCPU_TSC_OFFSET 0
#endif
